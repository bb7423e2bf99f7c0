"""Shared helpers for the peer benchmarks: CLI parsing, percentiles, output.

Only formatting and argument handling live here; each peer script builds and
runs its own model so that the timed loop is that peer's own engine.
"""

import argparse
import json
import math

# M/M/1: lambda = 800/s, mu = 1000/s (mean service 1 ms), rho = 0.8.
MM1_LAMBDA = 800.0
MM1_MU = 1000.0
# Mean sojourn 1/(mu - lambda) = 5 ms; sojourn is exponential with that mean,
# so p99 = ln(100) * 5 ms = 23.03 ms.
MM1_THEORY_MEAN_MS = 1e3 / (MM1_MU - MM1_LAMBDA)
MM1_THEORY_P99_MS = math.log(100.0) * MM1_THEORY_MEAN_MS

# Open feed-forward Jackson network (the model of topologies/jackson.yaml):
# external Poisson arrivals lambda = 100/s to `gateway`; then `catalog` with
# probability 0.6 or `orders` with 0.4; after `orders`, `db` with
# probability 0.5, else leave; after `catalog` or `db`, leave.
JACKSON_LAMBDA = 100.0
JACKSON_MEAN_SERVICE_S = {
    "gateway": 0.004,
    "catalog": 0.010,
    "orders": 0.005,
    "db": 0.030,
}
P_CATALOG = 0.6
P_DB_AFTER_ORDERS = 0.5
# Each station is an M/M/1 with its own arrival rate (Jackson's theorem):
#   gateway: lambda 100, mu 250      -> 1/(250-100)    = 1/150 s = 6.667 ms
#   catalog: lambda  60, mu 100      -> 1/(100-60)     = 25 ms
#   orders:  lambda  40, mu 200      -> 1/(200-40)     = 6.25 ms
#   db:      lambda  20, mu 33.3     -> 1/(33.33-20)   = 75 ms
# Mean end-to-end sojourn:
#   1/150 s + 0.6 * 25 ms + 0.4 * (6.25 ms + 0.5 * 75 ms) = 39.17 ms
JACKSON_THEORY_MEAN_MS = 1e3 / 150.0 + 0.6 * 25.0 + 0.4 * (6.25 + 0.5 * 75.0)

# The end-to-end distribution: every route here is a simple chain with no
# overtaking, so a customer's sojourn times at successive stations are
# independent exponentials (Reich; Walrand & Varaiya), and the end-to-end time
# is a mixture of hypoexponentials with the per-station rates mu - lambda:
#   0.6: gateway (150/s) + catalog (40/s)
#   0.2: gateway + orders (160/s)
#   0.2: gateway + orders + db (13.33/s)
JACKSON_ROUTES = [(0.6, [150.0, 40.0]), (0.2, [150.0, 160.0]), (0.2, [150.0, 160.0, 40.0 / 3.0])]


def _hypoexp_survival(rates, t):
    """P(T > t) for a sum of independent exponentials with distinct rates."""
    total = 0.0
    for i, ri in enumerate(rates):
        c = 1.0
        for j, rj in enumerate(rates):
            if j != i:
                c *= rj / (rj - ri)
        total += c * math.exp(-ri * t)
    return total


def jackson_theory_quantile_ms(q):
    """Quantile q of the Jackson end-to-end sojourn, by bisection (ms)."""
    lo, hi = 0.0, 10.0
    for _ in range(100):
        mid = (lo + hi) / 2
        surv = sum(p * _hypoexp_survival(r, mid) for p, r in JACKSON_ROUTES)
        if surv > 1.0 - q:
            lo = mid
        else:
            hi = mid
    return lo * 1e3


# = 238.63 ms
JACKSON_THEORY_P99_MS = jackson_theory_quantile_ms(0.99)


def parse_args(description):
    p = argparse.ArgumentParser(description=description)
    p.add_argument("duration", type=float, help="simulated duration in seconds")
    p.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    a = p.parse_args()
    if not a.duration > 0:
        p.error("duration must be positive")
    return a


def p99(values):
    """Nearest-rank 99th percentile of a list of numbers (None if empty)."""
    if not values:
        return None
    s = sorted(values)
    return s[max(0, math.ceil(0.99 * len(s)) - 1)]


# Student t quantile 0.975 with 19 degrees of freedom (20 batches).
T_975_19 = 2.093


def mean_ci95(values, batches=20):
    """Half-width of a 95% confidence interval for the mean by batch means.

    Sojourn times of consecutive customers are correlated, so the plain
    standard error understates the error; means of 20 batches of consecutive
    customers (in departure order) are nearly independent when each batch is
    much longer than the queue's relaxation time (~100 customers here).
    """
    size = len(values) // batches
    if size < 2:
        return None
    means = [sum(values[i * size:(i + 1) * size]) / size for i in range(batches)]
    m = sum(means) / batches
    var = sum((x - m) ** 2 for x in means) / (batches - 1)
    return T_975_19 * math.sqrt(var / batches)


def emit(peer, model, sojourns_s, utilization, wall_s, duration_s, seed, theory_mean_ms):
    """Print the one JSON line every peer prints. Sojourn times in seconds."""
    n = len(sojourns_s)
    mean_ms = sum(sojourns_s) / n * 1e3 if n else None
    q = p99(sojourns_s)
    ci = mean_ci95(sojourns_s)
    out = {
        "peer": peer,
        "model": model,
        "customers": n,
        "mean_ms": mean_ms,
        "mean_ci95_ms": ci * 1e3 if ci is not None else None,
        "p99_ms": q * 1e3 if q is not None else None,
        "utilization": utilization,
        "wall_s": wall_s,
        "duration_s": duration_s,
        "seed": seed,
        "theory_mean_ms": theory_mean_ms,
    }
    print(json.dumps(out))
