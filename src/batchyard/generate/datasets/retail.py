"""``retail``: customers, products, orders and their items.

At scale 1: 20,000 customers, 2,000 products, 100,000 orders and 300,000 order items (three lines
per order): 422,000 rows. An item's price is its product's list price, and its line total is
quantity x unit price less the discount.
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
    COUNTRIES,
    FIRST_NAMES,
    LAST_NAMES,
    email_sql,
)
from batchyard.generate.datasets.sql import Row

TIERS = ("bronze", "silver", "gold", "platinum")
CATEGORIES = ("Küche", "Garden", "Électronique", "Toys", "Books", "Outdoor", "Beauty", "Office")
ADJECTIVES = ("Classic", "Deluxe", "Über", "Compact", "Crème", "Rustic", "Smart", "Nordic")
NOUNS = ("Mug", "Lamp", "Backpack", "Kettle", "Notebook", "Chair", "Café Set", "Jacket", "Drone")
STATUSES = ("placed", "shipped", "delivered", "cancelled", "returned")
CURRENCIES = ("USD", "EUR", "GBP", "JPY", "CAD")
ITEMS_PER_ORDER = 3


def list_price_cents(product: str) -> str:
    """A product's list price in cents; order items copy it, so both tables compute it."""
    return f"(199 + ({product}) * 7919 % 49801)"


def customers(r: Row, c: Counts) -> dict[str, str]:
    email = email_sql(r, r.n)
    return {
        "customer_id": r.n,
        "email": f"({email})",
        "first_name": r.choice("first", FIRST_NAMES),
        "last_name": r.choice("last", LAST_NAMES),
        "city": r.choice("city", CITIES),
        "country": r.choice("country", COUNTRIES),
        "signup_date": r.date(f"({r.draw('signup', 3650)})", "signup_date"),
        "birth_date": r.null_if(
            r.below("no_birth", 150), r.date(f"({r.draw('born', 20000)} - 25000)", "birth_date")
        ),
        "loyalty_tier": r.null_if(r.below("no_tier", 300), r.choice("tier", TIERS)),
        "marketing_opt_in": r.below("opt_in", 400),
    }


def products(r: Row, c: Counts) -> dict[str, str]:
    name = f"{r.choice('adjective', ADJECTIVES)} || ' ' || {r.choice('noun', NOUNS)}"
    return {
        "product_id": r.n,
        "sku": f"('SKU-' || {r.text(f'({r.n} * 40503 % 2147483647 + 1000000000)')})",
        "name": f"({name})",
        "category": r.choice("category", CATEGORIES),
        "unit_price": r.decimal(list_price_cents(r.n)),
        "weight_kg": r.null_if(
            r.below("no_weight", 100), r.real(f"(5 + {r.draw('weight', 25000)})", 1000)
        ),
        "active": r.below("active", 900),
        "created_at": r.timestamp(f"({r.h('created')} % 315360000)", "created_at"),
    }


def orders(r: Row, c: Counts) -> dict[str, str]:
    status = r.let("status", r.draw("status", len(STATUSES)))
    placed = r.let("placed", f"({r.h('placed')} % 315360000)")
    shipped = r.timestamp(f"{placed} + 3600 + {r.draw('ship', 259200)}", "shipped_at")
    percent = r.draw("coupon", 6)
    coupon = f"('SAVE' || {r.text(f'(5 + 5 * {percent})')})"
    return {
        "order_id": r.n,
        "customer_id": f"(1 + {r.draw('customer', c['customers'])})",
        "ordered_at": r.timestamp(placed, "ordered_at"),
        "status": r.pick(status, STATUSES),
        "currency": r.choice("currency", CURRENCIES),
        "shipping_country": r.choice("country", COUNTRIES),
        "shipped_at": f"(CASE WHEN {status} IN (1, 2, 4) THEN {shipped} END)",
        "coupon_code": r.null_if(r.below("no_coupon", 800), coupon),
        "is_gift": r.below("gift", 80),
    }


def order_items(r: Row, c: Counts) -> dict[str, str]:
    product = r.let("product", f"(1 + {r.draw('product', c['products'])})")
    quantity = r.let("quantity", f"(1 + {r.draw('quantity', 5)} * {r.draw('bulk', 2)})")
    discount = r.let("discount", f"(5 * {r.draw('discount', 5)})")
    price = list_price_cents(product)
    return {
        "item_id": r.n,
        "order_id": f"(({r.n} - 1) / {ITEMS_PER_ORDER} + 1)",
        "line_no": f"(({r.n} - 1) % {ITEMS_PER_ORDER} + 1)",
        "product_id": product,
        "quantity": quantity,
        "unit_price": r.decimal(price),
        "discount_pct": r.null_if(f"({discount} = 0)", discount),
        "line_total": r.decimal(f"(({quantity} * {price} * (100 - {discount}) + 50) / 100)"),
    }


RETAIL = Dataset(
    name="retail",
    description="customers, products, orders and order items",
    base={"customers": 20_000, "products": 2_000, "orders": 100_000},
    derive=lambda c: {"order_items": ITEMS_PER_ORDER * c["orders"]},
    capacity=lambda c: {"order_items": ITEMS_PER_ORDER * c["orders"]},
    tables=(
        Table(
            "customers",
            (
                Column("customer_id", "integer"),
                Column("email", "text"),
                Column("first_name", "text"),
                Column("last_name", "text"),
                Column("city", "text"),
                Column("country", "text"),
                Column("signup_date", "date"),
                Column("birth_date", "date", nullable=True),
                Column("loyalty_tier", "text", nullable=True),
                Column("marketing_opt_in", "boolean"),
            ),
            customers,
            primary_key=("customer_id",),
            indexes=(Index(("email",), unique=True),),
            defects=(
                malformed_email("email"),
                duplicate("email"),
                null_required("last_name"),
                malformed_date("signup_date"),
            ),
        ),
        Table(
            "products",
            (
                Column("product_id", "integer"),
                Column("sku", "text"),
                Column("name", "text"),
                Column("category", "text"),
                Column("unit_price", "decimal", precision=10, scale=2),
                Column("weight_kg", "float", nullable=True),
                Column("active", "boolean"),
                Column("created_at", "datetime"),
            ),
            products,
            primary_key=("product_id",),
            indexes=(Index(("sku",), unique=True),),
            defects=(
                null_required("name"),
                Defect(
                    "out_of_range",
                    "unit_price",
                    lambda u: f"(-1 - {u.n} % 100)",
                    rule={"min": 0.01, "max": 10000},
                ),
            ),
        ),
        Table(
            "orders",
            (
                Column("order_id", "integer"),
                Column("customer_id", "integer"),
                Column("ordered_at", "datetime"),
                Column("status", "text"),
                Column("currency", "text"),
                Column("shipping_country", "text"),
                Column("shipped_at", "datetime", nullable=True),
                Column("coupon_code", "text", nullable=True),
                Column("is_gift", "boolean"),
            ),
            orders,
            primary_key=("order_id",),
            foreign_keys=(ForeignKey("customer_id", "customers", "customer_id"),),
            indexes=(Index(("customer_id",)),),
            defects=(orphan("customer_id", "customers"), null_required("status")),
        ),
        Table(
            "order_items",
            (
                Column("item_id", "integer"),
                Column("order_id", "integer"),
                Column("line_no", "integer"),
                Column("product_id", "integer"),
                Column("quantity", "integer"),
                Column("unit_price", "decimal", precision=10, scale=2),
                Column("discount_pct", "integer", nullable=True),
                Column("line_total", "decimal", precision=12, scale=2),
            ),
            order_items,
            primary_key=("item_id",),
            foreign_keys=(
                ForeignKey("order_id", "orders", "order_id"),
                ForeignKey("product_id", "products", "product_id"),
            ),
            indexes=(Index(("order_id",)), Index(("product_id",))),
            defects=(
                orphan("product_id", "products"),
                Defect(
                    "inconsistent",
                    "line_total",
                    lambda u: f'("line_total" + 1 + {u.n} % 20)',
                    rule={
                        "expression": "line_total = quantity * unit_price * "
                        "(100 - coalesce(discount_pct, 0)) / 100",
                        "tolerance": 0.01,
                    },
                ),
            ),
        ),
    ),
)
