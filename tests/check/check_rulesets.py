"""Rules that find exactly the defects ``generate --inject-errors`` plants, per dataset."""

from __future__ import annotations

from typing import Any

SPORTS = """\
suite: sports-defects
tables:
  players:
    - {rule: not_null, column: last_name}
    - {rule: unique, column: mlbam_id}
    - {rule: between, column: height_cm, min: 150, max: 230}
  matches:
    - {rule: not_null, column: home_team}
    - {rule: regex, column: match_date, format: date}
    - {rule: between, column: attendance, min: 0, max: 60000}
  bets:
    - {rule: not_null, column: stake}
    - {rule: between, column: stake, min: 0.01, max: 100000}
    - {rule: references, column: match_id, table: matches}
    - {rule: unique, column: ticket_ref, severity: warning}
    - {rule: regex, column: bettor_email, format: email}
    - rule: expression
      name: consistent(payout)
      expression: abs(payout - stake * odds) <= 0.01
      where: status = 'won'
    - {rule: in, column: status, values: [won, lost, pending, void]}
  statcast:
    - {rule: not_null, column: pitcher_id}
    - {rule: references, column: batter_id, table: players, to: player_id}
    - {rule: between, column: release_speed, min: 40, max: 110}
    - {rule: regex, column: game_date, pattern: '^\\d{4}-\\d{2}-\\d{2}$'}
"""

RETAIL = """\
suite: retail-defects
tables:
  customers:
    - {rule: regex, column: email, format: email}
    - {rule: unique, column: email}
    - {rule: not_null, column: last_name}
    - {rule: regex, column: signup_date, format: date}
  products:
    - {rule: not_null, column: name}
    - {rule: between, column: unit_price, min: 0.01, max: 10000}
  orders:
    - {rule: references, column: customer_id, table: customers}
    - {rule: not_null, column: status}
  order_items:
    - {rule: references, column: product_id, table: products}
    - rule: expression
      name: consistent(line_total)
      expression: abs(line_total - quantity * unit_price * (100 - coalesce(discount_pct, 0)) / 100) <= 0.01
"""

FINANCE = """\
suite: finance-defects
tables:
  accounts:
    - {rule: unique, column: iban}
    - {rule: regex, column: email, format: email}
    - {rule: not_null, column: holder_name}
    - {rule: regex, column: opened_on, format: date}
  transactions:
    - {rule: references, column: account_id, table: accounts}
    - {rule: not_null, column: posted_at}
    - {rule: between, column: exchange_rate, min: 0.0001, max: 100}
    - {rule: expression, name: consistent(net_amount), expression: abs(net_amount - (amount - fee)) <= 0.001}
    - {rule: type, column: value_date, as: date, name: date(value_date)}
"""

RULESETS = {"sports": SPORTS, "retail": RETAIL, "finance": FINANCE}

PREFIX = {
    "null_required": "not_null",
    "duplicate_key": "unique",
    "out_of_range": "between",
    "malformed_date": "date",
    "malformed_email": "email",
    "orphan_fk": "references",
    "inconsistent": "consistent",
}


def rule_name(check: dict[str, Any]) -> str:
    """The rule of the suite above that finds the manifest check's defects."""
    return f"{PREFIX[check['kind']]}({check['column']})"


def failing(report: Any) -> dict[tuple[str, str], int]:
    return {(t.table, r.name): r.failing for t in report.tables for r in t.rules}
