"""What the analytics layer shows instead of a person's identifiers.

ID numbers and phones become keyed pseudonyms: HMAC-SHA-256 under a secret key that lives
outside the code and the warehouse (SCREENFUSE_PSEUDONYM_KEY, or the password of the Airflow
connection `screenfuse_pseudonym_key`). An unkeyed hash would not do: there are about 10^10
resident ID numbers and 10^9 mobile numbers, a laptop hashes all of them in hours. The same value
under the same key gives the same pseudonym in every run, so BI can count and join; rotating the
key changes every pseudonym (`screenfuse db rekey`). Birth dates become age bands.
Without a key, the pseudonym columns stay empty: nothing is leaked, BI just cannot join on them.
"""
from __future__ import annotations

import hashlib
import hmac
import os

import numpy as np
import pandas as pd

from screenfuse.config import ConfigError

KEY_VARIABLE = "SCREENFUSE_PSEUDONYM_KEY"
KEY_CONNECTION = "screenfuse_pseudonym_key"
MIN_KEY_CHARS = 32
PLACEHOLDER_WORDS = ("replace", "change-me", "changeme", "example")  # .env.example's values
PSEUDONYM_CHARS = 32  # 128 bits of the HMAC: no two of a city's IDs meet by chance
AGE_BANDS = (0, 7, 18, 40, 60, 70, 80)  # children, school age, adults, the older groups the seeds single out
PSEUDONYM_COLUMNS = ("id_pseudonym", "phone_pseudonym", "age_band")


def checked_key(key: str | None, source: str = KEY_VARIABLE) -> bytes | None:
    """The key as bytes, None when there is none; a key too short to resist guessing is refused."""
    if not key:
        return None
    if any(word in key.lower() for word in PLACEHOLDER_WORDS):
        raise ConfigError(f"{source} is still the example's placeholder; set a random key, "
                          "e.g. python -c 'import secrets; print(secrets.token_hex(32))'")
    if len(key) < MIN_KEY_CHARS:
        raise ConfigError(f"{source} is {len(key)} characters long; use at least {MIN_KEY_CHARS} random ones, "
                          "e.g. python -c 'import secrets; print(secrets.token_hex(32))'")
    return key.encode("utf-8")


def key_from_env() -> bytes | None:
    return checked_key(os.environ.get(KEY_VARIABLE, "").strip())


def key_for_task(connection_password, not_defined: tuple[type[BaseException], ...] = ()) -> bytes | None:
    """In Airflow: the password of the connection `screenfuse_pseudonym_key` (a secrets backend
    can hold it), else SCREENFUSE_PSEUDONYM_KEY."""
    source = f"the password of the Airflow connection {KEY_CONNECTION}"
    try:
        password = (connection_password() or "").strip()
    except not_defined:
        return key_from_env()
    if not password:
        raise ConfigError(f"{source} is empty: put the key there, or delete the connection to use {KEY_VARIABLE}")
    return checked_key(password, source)


def pseudonyms(values: pd.Series, key: bytes | None) -> pd.Series:
    """Each non-empty value's pseudonym ('p' + 32 hex), None for an empty value or without a key.
    Computed once per distinct value."""
    text = values.fillna("").astype(str)
    if key is None:
        return pd.Series(None, index=values.index, dtype=object)
    codes, uniques = pd.factorize(text)
    done = np.array([("p" + hmac.new(key, u.encode("utf-8"), hashlib.sha256).hexdigest()[:PSEUDONYM_CHARS])
                     if u else None for u in uniques] + [None], dtype=object)
    return pd.Series(done[codes], index=values.index, dtype=object)


def age_bands(birth_dates: pd.Series, as_of: pd.Timestamp) -> pd.Series:
    """Birth dates (YYYY-MM-DD) → '0-6', '7-17', …, '80+' at `as_of`; None when unknown."""
    born = pd.to_datetime(birth_dates, errors="coerce", format="%Y-%m-%d")
    at = pd.Timestamp(as_of).tz_localize(None) if pd.Timestamp(as_of).tzinfo else pd.Timestamp(as_of)
    before_birthday = (born.dt.month > at.month) | ((born.dt.month == at.month) & (born.dt.day > at.day))
    years = at.year - born.dt.year - before_birthday.astype(float)
    labels = [f"{lo}-{hi - 1}" for lo, hi in zip(AGE_BANDS, AGE_BANDS[1:])] + [f"{AGE_BANDS[-1]}+"]
    band = pd.cut(years, bins=[*AGE_BANDS, np.inf], right=False, labels=labels)
    return pd.Series(band.astype(object), index=birth_dates.index).where(band.notna(), None)


def with_pseudonyms(persons: pd.DataFrame, key: bytes | None, as_of: pd.Timestamp) -> pd.DataFrame:
    """Person rows with PSEUDONYM_COLUMNS (from id_number, phone, birth_date)."""
    col = lambda name: persons[name] if name in persons else pd.Series("", index=persons.index)  # noqa: E731
    return persons.assign(id_pseudonym=pseudonyms(col("id_number"), key),
                          phone_pseudonym=pseudonyms(col("phone"), key),
                          age_band=age_bands(col("birth_date"), as_of))


REKEY_ROWS = 50_000


def rekey(conn, key: bytes | None) -> int:
    """Every stored person's pseudonyms and age band again, under `key` (after the key was
    rotated, or for persons stored before the analytics layer existed). Reads and writes the
    person table by key ranges of REKEY_ROWS: an administrator's command, not an hourly step."""
    import sqlalchemy as sa

    done, after = 0, ""
    while True:
        rows = pd.read_sql(sa.text("SELECT person_id, id_number, phone, birth_date, as_of FROM person "
                                   "WHERE person_id > :after ORDER BY person_id LIMIT :n"), conn,
                           params={"after": after, "n": REKEY_ROWS})
        if rows.empty:
            return done
        out = pd.concat([with_pseudonyms(group, key, pd.Timestamp(as_of or "now"))
                         for as_of, group in rows.groupby(rows["as_of"].fillna(""), sort=False)])
        values = out[["person_id", *PSEUDONYM_COLUMNS]].astype(object).where(out.notna(), None).to_dict("records")
        conn.execute(sa.text("UPDATE person SET id_pseudonym = :id_pseudonym, phone_pseudonym = :phone_pseudonym, "
                             "age_band = :age_band WHERE person_id = :person_id"), values)
        done, after = done + len(rows), rows["person_id"].iloc[-1]
