-- person and person_link hold the current state (the whole resolution); replaced in the same
-- transaction as the batch's rows, so readers never see a half-published state.
DELETE FROM person_link;
DELETE FROM person;
