"""An example job for a cluster: one item per number, each writing its square, upserted."""

import batchyard as by


@by.job("nums", retries=2)
def nums(n: int = 100):
    return [str(i) for i in range(n)]


@nums.item
def square(key: str, ctx: by.Context) -> dict:
    i = int(key)
    ctx.checkpoint({"number": i})
    ctx.write("squares", {"n": i, "square": i * i}, key="n")
    return {"n": i}
