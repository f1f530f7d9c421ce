"""``sports``: players, matches, bets, odds and pitch-by-pitch statcast data.

At scale 1: 10,000 players, 50,000 matches over ten seasons (2015-2024, April to September), 500,000
bets, 399,920 odds (4 bookmakers x 2 markets for every match but the last ten) and 2,000,000 pitches:
2,959,920 rows.
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
    COUNTRIES,
    FIRST_NAMES,
    LAST_NAMES,
    TEAMS,
    VENUES,
    email_sql,
)
from batchyard.generate.datasets.sql import Row, Values

POSITIONS = ("P", "C", "1B", "2B", "3B", "SS", "LF", "CF", "RF", "DH")
BOOKMAKERS = ("Pinnacle", "bet365", "Betfair", "Ladbrokes")
ODDS_MARKETS = ("moneyline", "total")
BET_MARKETS = ("moneyline", "run_line", "total")
PITCH_TYPES = ("FF", "SL", "CH", "CU", "SI", "FC", "KC", "FS")
DESCRIPTIONS = ("ball", "called_strike", "swinging_strike", "foul", "hit_into_play", "blocked_ball")
ODDS_PER_MATCH = len(BOOKMAKERS) * len(ODDS_MARKETS)


def match_days(m: str, matches: int) -> str:
    """Days from 2015-01-01 to match ``m``'s date: ten seasons of 183 days from April 1."""
    k = f"((({m}) - 1) * 1830 / {matches})"
    season = f"({k} / 183)"
    return f"(90 + 365 * {season} + ({season} + 3) / 4 + {k} % 183)"


def match_start(m: str, matches: int) -> str:
    """Seconds from 2015-01-01 00:00 to the first pitch of match ``m``."""
    return f"({match_days(m, matches)} * 86400 + (13 + ({m}) % 9) * 3600 + (({m}) % 3) * 300)"


def players(r: Row, c: Counts) -> dict[str, str]:
    return {
        "player_id": r.n,
        "mlbam_id": f"({r.n} * 48271 % 2147483647)",
        "first_name": r.choice("first", FIRST_NAMES),
        "last_name": r.choice("last", LAST_NAMES),
        "birth_date": r.date(f"({r.draw('born', 8000)} - 14610)", "birth_date"),
        "country": r.choice("country", COUNTRIES),
        "team": r.null_if(r.below("free_agent", 50), r.choice("team", TEAMS)),
        "position": r.choice("position", POSITIONS),
        "bats": f"(CASE WHEN {r.draw('bats', 10)} < 6 THEN 'R' WHEN {r.draw('bats', 10)} < 9 "
        "THEN 'L' ELSE 'S' END)",
        "throws": f"(CASE WHEN {r.below('lefty', 250)} THEN 'L' ELSE 'R' END)",
        "height_cm": r.integer("height", 168, 206),
        "weight_kg": r.real(f"(700 + {r.draw('weight', 700)})", 10),
        "salary_usd": r.null_if(
            r.below("no_salary", 100), r.decimal(f"(72000000 + {r.draw('salary', 3500000000)})")
        ),
        "debut_date": r.null_if(
            r.below("no_debut", 200), r.date(f"({r.draw('debut', 3650)})", "debut_date")
        ),
        "active": r.below("active", 850),
    }


def matches(r: Row, c: Counts) -> dict[str, str]:
    m, total = r.n, c["matches"]
    days = r.let("days", match_days(m, total))
    home = r.let("home", f"({r.draw('home', len(TEAMS))})")
    away = f"(({home} + 1 + {r.draw('away', len(TEAMS) - 1)}) % {len(TEAMS)})"
    status = r.let("status", f"({r.draw('status', 100)})")
    final = f"({status} < 92)"
    return {
        "match_id": m,
        "season": f"(2015 + ((({m}) - 1) * 1830 / {total}) / 183)",
        "match_date": r.date(days, "match_date"),
        "start_time": r.timestamp(
            f"({days} * 86400 + (13 + {m} % 9) * 3600 + ({m} % 3) * 300)", "start_time"
        ),
        "home_team": r.pick(home, TEAMS),
        "away_team": r.pick(away, TEAMS),
        "venue": r.pick(home, VENUES),
        "status": f"(CASE WHEN {final} THEN 'final' WHEN {status} < 95 THEN 'postponed' "
        "ELSE 'scheduled' END)",
        "home_score": f"(CASE WHEN {final} THEN {r.draw('home_runs', 12)} END)",
        "away_score": f"(CASE WHEN {final} THEN {r.draw('away_runs', 11)} END)",
        "attendance": f"(CASE WHEN {final} THEN 8000 + {r.draw('crowd', 42001)} END)",
        "temperature_c": r.null_if(
            r.below("no_temp", 80), r.real(f"({r.draw('temp', 400)} - 50)", 10)
        ),
        "night_game": f"((13 + ({m}) % 9) >= 18)",
    }


def bets(r: Row, c: Counts) -> dict[str, str]:
    match_sql = f"(1 + {r.draw('match', c['matches'])})"
    match = r.let("match", match_sql)
    start = r.let("start", match_start(match_sql, c["matches"]))
    status = r.let("status", f"({r.h('status')} % 100)")  # _won() computes it in Python
    stake = r.let("stake", f"(100 + {r.draw('stake', 1000)} * ({r.draw('stake_size', 500)}))")
    odds = r.let("odds", f"(101 + {r.draw('odds', 1400)})")
    prop = r.let("prop", r.below("prop", 250))
    live = r.below("live", 150)
    side = r.draw("side", 2)
    settle = r.timestamp(f"{start} + 10800 + {r.draw('settle', 3600)}", "settled_at")
    email = email_sql(r, lambda: f"({r.draw('email_no', 1000)})")
    return {
        "bet_id": r.n,
        "ticket_ref": f"('BT' || {r.text(f'({r.n} * 2654435 % 2147483647 + 1000000000)')})",
        "match_id": match,
        "player_id": f"(CASE WHEN {prop} THEN 1 + {r.draw('player', c['players'])} END)",
        "bettor_email": f"({email})",
        "market": f"(CASE WHEN {prop} THEN 'player_prop' ELSE "
        f"{r.choice('market', BET_MARKETS)} END)",
        "selection": f"(CASE WHEN {prop} OR {r.draw('market', 3)} = 2 THEN "
        f"{r.pick(side, ('over', 'under'))} ELSE {r.pick(side, ('home', 'away'))} END)",
        "stake": r.decimal(stake),
        "odds": r.real(odds, 100),
        "status": f"(CASE WHEN {status} < 45 THEN 'lost' WHEN {status} < 85 THEN 'won' "
        f"WHEN {status} < 93 THEN 'pending' ELSE 'void' END)",
        "payout": f"(CASE WHEN {status} < 45 THEN {r.decimal('0')} "
        f"WHEN {status} < 85 THEN {r.decimal(f'({stake} * {odds} + 50) / 100')} "
        f"WHEN {status} < 93 THEN NULL ELSE {r.decimal(stake)} END)",
        "placed_at": r.timestamp(
            f"(CASE WHEN {live} THEN {start} + {r.draw('lead_live', 7200)} "
            f"ELSE {start} - 300 - {r.draw('lead', 259200)} END)",
            "placed_at",
        ),
        "settled_at": f"(CASE WHEN {status} >= 85 AND {status} < 93 THEN NULL ELSE {settle} END)",
        "is_live": live,
    }


def odds(r: Row, c: Counts) -> dict[str, str]:
    slot = f"(({r.n} - 1) % {ODDS_PER_MATCH})"
    match_sql = f"(({r.n} - 1) / {ODDS_PER_MATCH} + 1)"
    match = r.let("match", match_sql)
    line = r.real(f"(65 + 5 * ({r.draw('line', 11)}))", 10)
    return {
        "match_id": match,
        "bookmaker": r.pick(f"({slot} / {len(ODDS_MARKETS)})", BOOKMAKERS),
        "market": r.pick(f"({slot} % {len(ODDS_MARKETS)})", ODDS_MARKETS),
        "home_price": r.real(f"(101 + {r.draw('home', 400)})", 100),
        "away_price": r.real(f"(101 + {r.draw('away', 400)})", 100),
        "line": f"(CASE WHEN {slot} % 2 = 1 THEN {line} END)",
        "updated_at": r.timestamp(
            f"({match_start(match, c['matches'])} - 600 - {r.draw('updated', 86400)})", "updated_at"
        ),
    }


def statcast(r: Row, c: Counts) -> dict[str, str]:
    match_sql = f"(({r.n} - 1) * {c['matches']} / {c['statcast']} + 1)"
    match = r.let("match", match_sql)
    desc = r.let("desc", f"({r.draw('desc', len(DESCRIPTIONS))})")
    in_play = f"({desc} = 4)"
    exit_velocity = r.real(f"(400 + {r.draw('ev', 800)})", 10)
    launch_angle = r.real(f"({r.draw('la', 1200)} - 400)", 10)
    return {
        "pitch_id": r.n,
        "match_id": match,
        "game_date": r.date(match_days(match_sql, c["matches"]), "game_date"),
        "pitcher_id": f"(1 + {r.draw('pitcher', c['players'])})",
        "batter_id": f"(1 + {r.draw('batter', c['players'])})",
        "inning": r.integer("inning", 1, 9),
        "pitch_number": r.integer("pitch_no", 1, 7),
        "pitch_type": r.null_if(r.below("no_type", 20), r.choice("type", PITCH_TYPES)),
        "release_speed": r.null_if(
            r.below("no_speed", 15), r.real(f"(700 + {r.draw('speed', 320)})", 10)
        ),
        "spin_rate": r.null_if(r.below("no_spin", 30), r.integer("spin", 1200, 3199)),
        "plate_x": r.real(f"({r.draw('px', 400)} - 200)", 100),
        "plate_z": r.real(f"({r.draw('pz', 450)})", 100),
        "description": r.pick(desc, DESCRIPTIONS),
        "launch_speed": f"(CASE WHEN {in_play} THEN {exit_velocity} END)",
        "launch_angle": f"(CASE WHEN {in_play} THEN {launch_angle} END)",
        "is_strike": f"({desc} IN (1, 2, 3))",
    }


def _won(v: Values, n: int) -> bool:
    return 45 <= v.h("status", n) % 100 < 85


def _not_won(v: Values, n: int) -> bool:
    return not _won(v, n)


SPORTS = Dataset(
    name="sports",
    description="players, matches, bets, odds and statcast pitches",
    base={"players": 10_000, "matches": 50_000, "bets": 500_000, "statcast": 2_000_000},
    derive=lambda c: {"odds": ODDS_PER_MATCH * max(c["matches"] - 10, 0)},
    capacity=lambda c: {"odds": ODDS_PER_MATCH * c["matches"]},
    tables=(
        Table(
            "players",
            (
                Column("player_id", "integer"),
                Column("mlbam_id", "integer"),
                Column("first_name", "text"),
                Column("last_name", "text"),
                Column("birth_date", "date"),
                Column("country", "text"),
                Column("team", "text", nullable=True),
                Column("position", "text"),
                Column("bats", "text"),
                Column("throws", "text"),
                Column("height_cm", "integer"),
                Column("weight_kg", "float"),
                Column("salary_usd", "decimal", nullable=True, precision=12, scale=2),
                Column("debut_date", "date", nullable=True),
                Column("active", "boolean"),
            ),
            players,
            primary_key=("player_id",),
            indexes=(Index(("mlbam_id",), unique=True),),
            defects=(
                null_required("last_name"),
                duplicate("mlbam_id"),
                Defect(
                    "out_of_range",
                    "height_cm",
                    lambda u: f"(300 + {u.n} % 50)",
                    rule={"min": 150, "max": 230},
                ),
            ),
        ),
        Table(
            "matches",
            (
                Column("match_id", "integer"),
                Column("season", "integer"),
                Column("match_date", "date"),
                Column("start_time", "datetime"),
                Column("home_team", "text"),
                Column("away_team", "text"),
                Column("venue", "text"),
                Column("status", "text"),
                Column("home_score", "integer", nullable=True),
                Column("away_score", "integer", nullable=True),
                Column("attendance", "integer", nullable=True),
                Column("temperature_c", "float", nullable=True),
                Column("night_game", "boolean"),
            ),
            matches,
            primary_key=("match_id",),
            indexes=(Index(("match_date",)),),
            defects=(
                null_required("home_team"),
                malformed_date("match_date"),
                Defect(
                    "out_of_range",
                    "attendance",
                    lambda u: f"(-1 - {u.n} % 500)",
                    rule={"min": 0, "max": 60000},
                ),
            ),
        ),
        Table(
            "bets",
            (
                Column("bet_id", "integer"),
                Column("ticket_ref", "text"),
                Column("match_id", "integer"),
                Column("player_id", "integer", nullable=True),
                Column("bettor_email", "text"),
                Column("market", "text"),
                Column("selection", "text"),
                Column("stake", "decimal", precision=12, scale=2),
                Column("odds", "float"),
                Column("status", "text"),
                Column("payout", "decimal", nullable=True, precision=12, scale=2),
                Column("placed_at", "datetime"),
                Column("settled_at", "datetime", nullable=True),
                Column("is_live", "boolean"),
            ),
            bets,
            primary_key=("bet_id",),
            foreign_keys=(
                ForeignKey("match_id", "matches", "match_id"),
                ForeignKey("player_id", "players", "player_id"),
            ),
            indexes=(Index(("ticket_ref",), unique=True), Index(("match_id",))),
            defects=(
                Defect(
                    "null_required",
                    "stake",
                    lambda u: "NULL",
                    rule={"not_null": True},
                    eligible=_not_won,
                ),
                Defect(
                    "out_of_range",
                    "stake",
                    lambda u: f'(CASE WHEN {u.n} % 2 = 0 THEN -"stake" ELSE "stake" + 100000 END)',
                    rule={"min": 0.01, "max": 100000},
                    eligible=_not_won,
                ),
                orphan("match_id", "matches"),
                duplicate("ticket_ref"),
                malformed_email("bettor_email"),
                Defect(
                    "inconsistent",
                    "payout",
                    lambda u: f'("payout" + 1 + {u.n} % 50)',
                    rule={
                        "expression": "payout = stake * odds",
                        "when": "status = 'won'",
                        "tolerance": 0.01,
                    },
                    eligible=_won,
                ),
            ),
        ),
        Table(
            "odds",
            (
                Column("match_id", "integer"),
                Column("bookmaker", "text"),
                Column("market", "text"),
                Column("home_price", "float"),
                Column("away_price", "float"),
                Column("line", "float", nullable=True),
                Column("updated_at", "datetime"),
            ),
            odds,
            primary_key=("match_id", "bookmaker", "market"),
            foreign_keys=(ForeignKey("match_id", "matches", "match_id"),),
            rows_per_key=ODDS_PER_MATCH,
            key_of=lambda n: {
                "match_id": (n - 1) // ODDS_PER_MATCH + 1,
                "bookmaker": BOOKMAKERS[((n - 1) % ODDS_PER_MATCH) // len(ODDS_MARKETS)],
                "market": ODDS_MARKETS[(n - 1) % len(ODDS_MARKETS)],
            },
        ),
        Table(
            "statcast",
            (
                Column("pitch_id", "integer"),
                Column("match_id", "integer"),
                Column("game_date", "date"),
                Column("pitcher_id", "integer"),
                Column("batter_id", "integer"),
                Column("inning", "integer"),
                Column("pitch_number", "integer"),
                Column("pitch_type", "text", nullable=True),
                Column("release_speed", "float", nullable=True),
                Column("spin_rate", "integer", nullable=True),
                Column("plate_x", "float"),
                Column("plate_z", "float"),
                Column("description", "text"),
                Column("launch_speed", "float", nullable=True),
                Column("launch_angle", "float", nullable=True),
                Column("is_strike", "boolean"),
            ),
            statcast,
            primary_key=("pitch_id",),
            foreign_keys=(
                ForeignKey("match_id", "matches", "match_id"),
                ForeignKey("pitcher_id", "players", "player_id"),
                ForeignKey("batter_id", "players", "player_id"),
            ),
            indexes=(Index(("match_id",)),),
            defects=(
                null_required("pitcher_id"),
                orphan("batter_id", "players"),
                Defect(
                    "out_of_range",
                    "release_speed",
                    lambda u: u.real(f"(2000 + {u.n} % 500)", 10),
                    rule={"min": 40, "max": 110},
                ),
            ),
        ),
    ),
)
