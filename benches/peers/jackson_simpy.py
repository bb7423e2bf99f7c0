"""Open feed-forward Jackson network on SimPy (the model of
topologies/jackson.yaml).

External Poisson arrivals lambda = 100/s to `gateway` (1 server, exp service
mean 4 ms); then `catalog` with probability 0.6 (exp mean 10 ms) or `orders`
with 0.4 (exp mean 5 ms); after `orders`, `db` with probability 0.5 (exp mean
30 ms), else leave; after `catalog` or `db`, leave. All stations have one
server and a FIFO queue.

Theory (each station an M/M/1, Jackson's theorem), mean end-to-end sojourn:
  1/150 s + 0.6 * 25 ms + 0.4 * (6.25 ms + 0.5 * 75 ms) = 39.17 ms

Usage: python jackson_simpy.py DURATION_S [--seed N]. `mean_ms` is the mean
end-to-end sojourn of customers that left within the simulated duration (no
warm-up); `utilization` is per station. `wall_s` is env.run() only.
"""

import random
import time

import simpy

from peerlib import (JACKSON_LAMBDA, JACKSON_MEAN_SERVICE_S, JACKSON_THEORY_MEAN_MS,
                     P_CATALOG, P_DB_AFTER_ORDERS, emit, parse_args)


def main():
    args = parse_args(__doc__.splitlines()[0])
    rng = random.Random(args.seed)
    env = simpy.Environment()
    names = list(JACKSON_MEAN_SERVICE_S)
    servers = {n: simpy.Resource(env, capacity=1) for n in names}
    rates = {n: 1.0 / m for n, m in JACKSON_MEAN_SERVICE_S.items()}
    busy = {n: 0.0 for n in names}
    since = {n: None for n in names}
    sojourns = []

    def visit(env, name):
        with servers[name].request() as req:
            yield req
            since[name] = env.now
            service = rng.expovariate(rates[name])
            yield env.timeout(service)
            busy[name] += service
            since[name] = None

    def customer(env):
        arrived = env.now
        yield from visit(env, "gateway")
        if rng.random() < P_CATALOG:
            yield from visit(env, "catalog")
        else:
            yield from visit(env, "orders")
            if rng.random() < P_DB_AFTER_ORDERS:
                yield from visit(env, "db")
        sojourns.append(env.now - arrived)

    def source(env):
        while True:
            yield env.timeout(rng.expovariate(JACKSON_LAMBDA))
            env.process(customer(env))

    env.process(source(env))
    t0 = time.perf_counter()
    env.run(until=args.duration)
    wall = time.perf_counter() - t0

    d = args.duration
    util = {n: (busy[n] + (d - since[n] if since[n] is not None else 0.0)) / d for n in names}
    emit("simpy", "jackson", sojourns, util, wall, d, args.seed, JACKSON_THEORY_MEAN_MS)


if __name__ == "__main__":
    main()
