"""``healthcare``: patients, their encounters and the diagnoses made in them.

At scale 1: 20,000 patients, 100,000 encounters and 250,000 diagnoses: 370,000 rows. An encounter's
length of stay is the whole days between admission and discharge; a diagnosis is dated on the day
its encounter began.
"""

from __future__ import annotations

from batchyard.generate.datasets.base import (
    Column,
    Counts,
    Dataset,
    Defect,
    ForeignKey,
    Index,
    Table,
    duplicate,
    malformed_date,
    malformed_email,
    null_required,
    orphan,
)
from batchyard.generate.datasets.names import (
    CITIES,
    FIRST_NAMES,
    LAST_NAMES,
    email_sql,
)
from batchyard.generate.datasets.sql import Row, Values

SEXES = ("F", "M", "X")
ENCOUNTER_TYPES = ("outpatient", "inpatient", "emergency", "telehealth")
DEPARTMENTS = ("Cardiología", "Oncology", "Pédiatrie", "Orthopädie", "Neurology", "General")
DIAGNOSES = (
    ("I10", "Essential (primary) hypertension"),
    ("E11.9", "Type 2 diabetes mellitus without complications"),
    ("J45.909", "Unspecified asthma, uncomplicated"),
    ("M54.5", "Low back pain"),
    ("F41.1", "Generalized anxiety disorder"),
    ("K21.9", "Gastro-esophageal reflux disease without esophagitis"),
    ("J06.9", "Acute upper respiratory infection, unspecified"),
    ("N39.0", "Urinary tract infection, site not specified"),
    ("S93.401A", "Sprain of unspecified ligament of ankle, initial encounter"),
    ("R51.9", "Headache, unspecified"),
)
DAY = 86400


def _has_email(v: Values, n: int) -> bool:
    return v.h("no_email", n) % 1000 >= 250


def _discharged(v: Values, n: int) -> bool:
    return v.h("in_care", n) % 1000 >= 30


def encounter_day(e: str, encounters: int) -> str:
    """Days from 2015-01-01 to the admission of encounter ``e``: spread evenly over ten years."""
    return f"((({e}) - 1) * 3650 / {encounters})"


def patients(r: Row, c: Counts) -> dict[str, str]:
    email = email_sql(r, r.n)
    return {
        "patient_id": r.n,
        "mrn": f"('MRN' || {r.text(f'({r.n} * 16807 % 2147483647 + 3000000000)')})",
        "given_name": r.choice("first", FIRST_NAMES),
        "family_name": r.choice("last", LAST_NAMES),
        "birth_date": r.date(f"({r.draw('born', 32000)} - 31000)", "birth_date"),
        "sex": r.choice("sex", SEXES),
        "email": f"(CASE WHEN {r.h('no_email')} % 1000 < 250 THEN NULL ELSE {email} END)",
        "city": r.choice("city", CITIES),
        "postal_code": r.text(f"(10000 + {r.draw('postal', 89999)})"),
        "deceased_on": r.null_if(
            f"NOT {r.below('deceased', 20)}", r.date(f"({r.draw('died', 3650)})", "deceased_on")
        ),
        "insured": r.below("insured", 880),
    }


def encounters(r: Row, c: Counts) -> dict[str, str]:
    admitted = r.let(
        "admitted", f"({encounter_day(r.n, c['encounters'])} * {DAY} + {r.draw('admitted', DAY)})"
    )
    stay = r.let("stay", f"({r.draw('stay', 6)} * {r.draw('long', 3)})")
    in_care = f"({r.h('in_care')} % 1000 < 30)"
    discharged = f"{admitted} + {stay} * {DAY} + {r.draw('hours', 20000)}"
    return {
        "encounter_id": r.n,
        "patient_id": f"(1 + {r.draw('patient', c['patients'])})",
        "encounter_type": r.choice("type", ENCOUNTER_TYPES),
        "department": r.choice("department", DEPARTMENTS),
        "admitted_at": r.timestamp(admitted, "admitted_at"),
        "discharged_at": f"(CASE WHEN {in_care} THEN NULL ELSE "
        f"{r.timestamp(discharged, 'discharged_at')} END)",
        "length_of_stay_days": f"(CASE WHEN {in_care} THEN NULL ELSE {stay} END)",
        "cost": r.decimal(f"(5000 + {r.draw('cost', 50000)} * (1 + {stay}))"),
        "attending": f"('Dr. ' || {r.choice('doctor', LAST_NAMES)})",
    }


def diagnoses(r: Row, c: Counts) -> dict[str, str]:
    encounter = r.let("encounter", f"(({r.n} - 1) * {c['encounters']} / {c['diagnoses']} + 1)")
    code = r.let("code", r.draw("code", len(DIAGNOSES)))
    return {
        "diagnosis_id": r.n,
        "encounter_id": encounter,
        "icd10_code": r.pick(code, [d[0] for d in DIAGNOSES]),
        "description": r.pick(code, [d[1] for d in DIAGNOSES]),
        "severity": r.null_if(r.below("no_severity", 200), r.integer("severity", 1, 5)),
        "diagnosed_on": r.date(encounter_day(encounter, c["encounters"]), "diagnosed_on"),
        "is_primary": f"({r.n} = 1 OR ({r.n} - 2) * {c['encounters']} / {c['diagnoses']} + 1 "
        f"<> {encounter})",
        "confirmed": r.below("confirmed", 850),
    }


HEALTHCARE = Dataset(
    name="healthcare",
    description="patients, encounters and diagnoses",
    base={"patients": 20_000, "encounters": 100_000, "diagnoses": 250_000},
    tables=(
        Table(
            "patients",
            (
                Column("patient_id", "integer"),
                Column("mrn", "text"),
                Column("given_name", "text"),
                Column("family_name", "text"),
                Column("birth_date", "date"),
                Column("sex", "text"),
                Column("email", "text", nullable=True),
                Column("city", "text"),
                Column("postal_code", "text"),
                Column("deceased_on", "date", nullable=True),
                Column("insured", "boolean"),
            ),
            patients,
            primary_key=("patient_id",),
            indexes=(Index(("mrn",), unique=True),),
            defects=(
                duplicate("mrn"),
                malformed_email("email", eligible=_has_email),
                null_required("family_name"),
                malformed_date("birth_date"),
            ),
        ),
        Table(
            "encounters",
            (
                Column("encounter_id", "integer"),
                Column("patient_id", "integer"),
                Column("encounter_type", "text"),
                Column("department", "text"),
                Column("admitted_at", "datetime"),
                Column("discharged_at", "datetime", nullable=True),
                Column("length_of_stay_days", "integer", nullable=True),
                Column("cost", "decimal", precision=12, scale=2),
                Column("attending", "text"),
            ),
            encounters,
            primary_key=("encounter_id",),
            foreign_keys=(ForeignKey("patient_id", "patients", "patient_id"),),
            indexes=(Index(("patient_id",)),),
            defects=(
                orphan("patient_id", "patients"),
                null_required("encounter_type"),
                Defect(
                    "out_of_range",
                    "cost",
                    lambda u: f"(-1 - {u.n} % 1000)",
                    rule={"min": 0, "max": 10000000},
                ),
                Defect(
                    "inconsistent",
                    "length_of_stay_days",
                    lambda u: f'("length_of_stay_days" + 2 + {u.n} % 5)',
                    rule={
                        "expression": "length_of_stay_days = whole days from admitted_at "
                        "to discharged_at"
                    },
                    eligible=_discharged,
                ),
            ),
        ),
        Table(
            "diagnoses",
            (
                Column("diagnosis_id", "integer"),
                Column("encounter_id", "integer"),
                Column("icd10_code", "text"),
                Column("description", "text"),
                Column("severity", "integer", nullable=True),
                Column("diagnosed_on", "date"),
                Column("is_primary", "boolean"),
                Column("confirmed", "boolean"),
            ),
            diagnoses,
            primary_key=("diagnosis_id",),
            foreign_keys=(ForeignKey("encounter_id", "encounters", "encounter_id"),),
            indexes=(Index(("encounter_id",)),),
            defects=(
                orphan("encounter_id", "encounters"),
                null_required("icd10_code"),
                Defect(
                    "out_of_range",
                    "severity",
                    lambda u: f"(9 + {u.n} % 3)",
                    rule={"min": 1, "max": 5},
                ),
            ),
        ),
    ),
)
