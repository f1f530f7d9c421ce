"""``finance``: accounts and their transactions.

At scale 1: 20,000 accounts and 1,000,000 transactions: 1,020,000 rows. A transaction's net amount is
its amount less its fee; transfers name the counterparty account.
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
    FIRST_NAMES,
    LAST_NAMES,
    email_sql,
)
from batchyard.generate.datasets.sql import Row, Values

CURRENCIES = ("EUR", "USD", "GBP", "CHF", "SEK")
ACCOUNT_TYPES = ("checking", "savings", "credit")
TXN_TYPES = ("card", "transfer", "deposit", "withdrawal", "fee", "interest")
MERCHANTS = (
    "Café de Flore",
    "Müller Bäckerei",
    "Tienda Peñalver",
    "Søstrene Grene",
    "Łazienki Market",
    "Amazon",
    "Uber",
    "Spotify",
    "Shell",
    "Starbucks",
    "Kiosk Zürich",
    "Boulangerie Élise",
    "7-Eleven",
    "Lidl",
    "IKEA",
    "Netflix",
)


def _has_email(v: Values, n: int) -> bool:
    return v.h("no_email", n) % 1000 >= 100


def accounts(r: Row, c: Counts) -> dict[str, str]:
    kind = r.let("kind", r.draw("type", len(ACCOUNT_TYPES)))
    opened = r.let("opened", r.draw("opened", 3000))
    email = email_sql(r, r.n)
    closed = r.date(f"({opened} + 30 + {r.draw('closed', 600)})", "closed_on")
    limit = r.decimal(f"(100000 * (1 + {r.draw('limit', 50)}))")
    return {
        "account_id": r.n,
        "iban": f"('GB' || {r.text(f'(10 + {r.n} % 89)')} || 'BYRD' || "
        f"{r.text(f'({r.n} * 69069 % 2147483647 + 10000000000)')})",
        "holder_name": f"({r.choice('first', FIRST_NAMES)} || ' ' || {r.choice('last', LAST_NAMES)})",
        "email": f"(CASE WHEN {r.h('no_email')} % 1000 < 100 THEN NULL ELSE {email} END)",
        "currency": r.choice("currency", CURRENCIES),
        "account_type": r.pick(kind, ACCOUNT_TYPES),
        "opened_on": r.date(opened, "opened_on"),
        "closed_on": r.null_if(r.below("open", 900), closed),
        "credit_limit": f"(CASE WHEN {kind} = 2 THEN {limit} END)",
        "is_active": r.below("active", 920),
    }


def transactions(r: Row, c: Counts) -> dict[str, str]:
    kind = r.let("kind", r.draw("type", len(TXN_TYPES)))
    amount = r.let("amount", f"(1 + {r.draw('amount', 1000)} * (1 + {r.draw('size', 200)}))")
    fee = r.let(
        "fee", f"(CASE WHEN {r.below('fee', 200)} THEN 25 + {r.draw('fee_cents', 500)} ELSE 0 END)"
    )
    posted = r.let("posted", f"({r.h('posted')} % 315360000)")
    return {
        "txn_id": r.n,
        "account_id": f"(1 + {r.draw('account', c['accounts'])})",
        "counterparty_id": f"(CASE WHEN {kind} = 1 THEN 1 + {r.draw('other', c['accounts'])} END)",
        "txn_type": r.pick(kind, TXN_TYPES),
        "direction": f"(CASE WHEN {kind} IN (2, 5) THEN 'credit' ELSE 'debit' END)",
        "amount": r.decimal(amount),
        "fee": r.decimal(fee),
        "net_amount": r.decimal(f"({amount} - {fee})"),
        "exchange_rate": r.null_if(
            r.below("domestic", 800), r.real(f"(5000 + {r.draw('fx', 15000)})", 10000)
        ),
        "posted_at": r.timestamp(posted, "posted_at"),
        "value_date": r.date(f"({posted} / 86400 + {r.draw('settle', 3)})", "value_date"),
        "merchant": f"(CASE WHEN {kind} = 0 THEN {r.choice('merchant', MERCHANTS)} END)",
        "is_flagged": r.below("flagged", 5),
    }


FINANCE = Dataset(
    name="finance",
    description="accounts and transactions",
    base={"accounts": 20_000, "transactions": 1_000_000},
    tables=(
        Table(
            "accounts",
            (
                Column("account_id", "integer"),
                Column("iban", "text"),
                Column("holder_name", "text"),
                Column("email", "text", nullable=True),
                Column("currency", "text"),
                Column("account_type", "text"),
                Column("opened_on", "date"),
                Column("closed_on", "date", nullable=True),
                Column("credit_limit", "decimal", nullable=True, precision=12, scale=2),
                Column("is_active", "boolean"),
            ),
            accounts,
            primary_key=("account_id",),
            indexes=(Index(("iban",), unique=True),),
            defects=(
                duplicate("iban"),
                malformed_email("email", eligible=_has_email),
                null_required("holder_name"),
                malformed_date("opened_on"),
            ),
        ),
        Table(
            "transactions",
            (
                Column("txn_id", "integer"),
                Column("account_id", "integer"),
                Column("counterparty_id", "integer", nullable=True),
                Column("txn_type", "text"),
                Column("direction", "text"),
                Column("amount", "decimal", precision=14, scale=2),
                Column("fee", "decimal", precision=10, scale=2),
                Column("net_amount", "decimal", precision=14, scale=2),
                Column("exchange_rate", "float", nullable=True),
                Column("posted_at", "datetime"),
                Column("value_date", "date"),
                Column("merchant", "text", nullable=True),
                Column("is_flagged", "boolean"),
            ),
            transactions,
            primary_key=("txn_id",),
            foreign_keys=(
                ForeignKey("account_id", "accounts", "account_id"),
                ForeignKey("counterparty_id", "accounts", "account_id"),
            ),
            indexes=(Index(("account_id",)), Index(("posted_at",))),
            defects=(
                orphan("account_id", "accounts"),
                null_required("posted_at"),
                Defect(
                    "out_of_range",
                    "exchange_rate",
                    lambda u: u.real(f"(-1 - {u.n} % 100)", 10),
                    rule={"min": 0.0001, "max": 100},
                ),
                Defect(
                    "inconsistent",
                    "net_amount",
                    lambda u: f'("net_amount" - 1 - {u.n} % 20)',
                    rule={"expression": "net_amount = amount - fee", "tolerance": 0.01},
                ),
                malformed_date("value_date"),
            ),
        ),
    ),
)
