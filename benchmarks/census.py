"""A census-style file with households, for the context-detection benchmark (synthetic, made here).

FEBRL-like English records: given name, surname, birth date, sex, street number, street name,
unit, zip. People live in households that share the address and (mostly) the surname; some
households have twins (same birth date, surname and address, different given names). Each person
appears 1-3 times; a duplicate may carry typos, a missing field, or a new address (the person
moved). Household members are the hard negatives: they agree on every address field.

Also `coarse` mode: few streets and zips shared by many people (addresses carry little
information), for the adaptive-blocking benchmark.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

GIVEN = ("james mary john patricia robert jennifer michael linda william elizabeth david barbara richard susan joseph "
         "jessica thomas sarah charles karen christopher nancy daniel lisa matthew betty anthony margaret mark sandra "
         "donald ashley steven kimberly paul emily andrew donna joshua michelle kenneth carol kevin amanda brian "
         "melissa george deborah timothy stephanie ronald rebecca edward sharon jason laura jeffrey cynthia ryan "
         "kathleen jacob amy gary angela nicholas shirley eric anna jonathan brenda stephen pamela larry emma justin "
         "nicole scott helen brandon samantha benjamin katherine samuel christine gregory debra alexander rachel "
         "frank carolyn patrick janet raymond catherine jack maria dennis heather jerry diane tyler ruth aaron julie "
         "jose olivia adam joyce henry virginia nathan victoria douglas kelly zachary lauren peter christina kyle "
         "joan ethan evelyn walter judith noah megan jeremy andrea christian cheryl keith hannah roger jacqueline "
         "terry martha gerald gloria harold teresa sean ann austin sara carl madison arthur frances lawrence kathryn "
         "dylan janice jesse jean jordan abigail bryan alice billy julia joe judy bruce sophia gabriel grace logan "
         "denise albert amber willie doris alan marilyn juan danielle wayne beverly elijah isabella randy theresa roy "
         "diana vincent natalie ralph brittany eugene charlotte russell marie bobby kayla mason alexis philip lori").split()
SURNAME = ("smith johnson williams brown jones garcia miller davis rodriguez martinez hernandez lopez gonzalez wilson "
           "anderson thomas taylor moore jackson martin lee perez thompson white harris sanchez clark ramirez lewis "
           "robinson walker young allen king wright scott torres nguyen hill flores green adams nelson baker hall "
           "rivera campbell mitchell carter roberts gomez phillips evans turner diaz parker cruz edwards collins reyes "
           "stewart morris morales murphy cook rogers gutierrez ortiz morgan cooper peterson bailey reed kelly howard "
           "ramos kim cox ward richardson watson brooks chavez wood james bennett gray mendoza ruiz hughes price "
           "alvarez castillo sanders patel myers long ross foster jimenez powell jenkins perry russell sullivan bell "
           "coleman butler henderson barnes gonzales fisher vasquez simmons romero jordan patterson alexander "
           "hamilton graham reynolds griffin wallace moreno west cole hayes bryant herrera gibson ellis tran medina "
           "aguilar stevens murray ford castro marshall owens harrison fernandez mcdonald woods washington kennedy "
           "wells vargas henry chen freeman webb tucker guzman burns crawford olson simpson porter hunter gordon "
           "mendez silva shaw snyder mason dixon munoz hunt hicks holmes palmer wagner black robertson boyd rose "
           "stone salazar fox warren mills meyer rice schmidt garza daniels ferguson nichols stephens soto weaver").split()
STREET_WORDS = ("oak maple cedar pine elm washington lake hill park main church highland forest jefferson river "
                "spring lincoln walnut sunset willow meadow ridge valley cherry mill dogwood madison jackson franklin "
                "center north south east west chestnut adams laurel birch heritage locust pleasant hickory").split()
STREET_KINDS = ("street avenue road drive lane court place way").split()


def _typo(rng: np.random.Generator, word: str) -> str:
    if len(word) < 3:
        return word
    i = int(rng.integers(1, len(word) - 1))
    kind = rng.integers(3)
    if kind == 0:
        return word[:i] + word[i + 1:]  # a letter dropped
    if kind == 1:
        return word[:i] + word[i + 1] + word[i] + word[i + 2:]  # two letters swapped
    return word[:i] + "abcdefghijklmnopqrstuvwxyz"[int(rng.integers(26))] + word[i + 1:]


def _address(rng: np.random.Generator, streets: int, zips: int) -> dict:
    street = int(rng.integers(streets))
    words = np.random.default_rng(street)  # a street's name and zip are fixed by its number
    name = f"{STREET_WORDS[int(words.integers(len(STREET_WORDS)))]} {STREET_KINDS[int(words.integers(len(STREET_KINDS)))]}"
    return {"street_number": str(int(rng.integers(1, 400))), "street_name": name,
            "unit": str(int(rng.integers(1, 20))) if rng.random() < 0.3 else "",
            "zip": f"{10000 + (street * 7919) % zips:05d}"}


def generate(people: int, seed: int, coarse: bool = False) -> tuple[pd.DataFrame, pd.Series]:
    """(records, true person per record id). `coarse`: few streets and zips, many people each."""
    rng = np.random.default_rng(seed)
    streets, zips = (max(people // 2000, 20), max(people // 20000, 5)) if coarse else (max(people // 8, 50), max(people // 400, 20))
    persons = []
    while len(persons) < people:
        home = _address(rng, streets, zips)
        surname = SURNAME[int(rng.integers(len(SURNAME)))]
        size = int(rng.choice([1, 2, 3, 4, 5], p=[0.3, 0.3, 0.2, 0.15, 0.05]))
        twins_at = int(rng.integers(1, size)) if size >= 3 and rng.random() < 0.15 else -1
        for k in range(size):
            born = np.datetime64("1930-01-01") + np.timedelta64(int(rng.integers(0, 33000)), "D")
            if k == twins_at:
                born = persons[-1]["birth_date"]  # a twin of the member before
            persons.append({"given_name": GIVEN[int(rng.integers(len(GIVEN)))],
                            "surname": surname if rng.random() < 0.9 else SURNAME[int(rng.integers(len(SURNAME)))],
                            "birth_date": str(born), "sex": "mf"[int(rng.integers(2))], **home})
    records, truth = [], []
    for p, person in enumerate(persons[:people]):
        copies = int(rng.choice([1, 2, 3], p=[0.55, 0.35, 0.10]))
        for c in range(copies):
            record = dict(person)
            if c:
                if rng.random() < 0.15:  # moved: a new address, same person
                    record.update(_address(rng, streets, zips))
                for field in ("given_name", "surname", "street_name"):
                    if rng.random() < 0.12:
                        record[field] = _typo(rng, record[field])
                if rng.random() < 0.08:  # day and month swapped, or one digit wrong
                    y, mth, d = record["birth_date"].split("-")
                    record["birth_date"] = f"{y}-{d}-{mth}" if int(d) <= 12 else f"{y}-{mth}-{int(d) % 28 + 1:02d}"
                if rng.random() < 0.08:
                    record[["street_number", "unit", "zip", "sex"][int(rng.integers(4))]] = ""
            records.append(record)
            truth.append(p)
    frame = pd.DataFrame(records)
    order = rng.permutation(len(frame))
    frame = frame.iloc[order].reset_index(drop=True)
    frame.insert(0, "rec_id", [f"r{i}" for i in range(len(frame))])
    return frame, pd.Series(np.asarray(truth)[order], index=frame["rec_id"], name="true_id")
