"""M/M/1 on SimPy (lambda = 800/s, exponential service mean 1 ms, rho = 0.8).

Usage: python mm1_simpy.py DURATION_S [--seed N]. Idiomatic SimPy: one process
per customer requesting a capacity-1 Resource. Counts the customers that left
within the simulated duration (no warm-up). `wall_s` is the time of
env.run() only, measured with time.perf_counter.
"""

import random
import time

import simpy

from peerlib import MM1_LAMBDA, MM1_MU, MM1_THEORY_MEAN_MS, emit, parse_args


def main():
    args = parse_args(__doc__.splitlines()[0])
    rng = random.Random(args.seed)
    env = simpy.Environment()
    server = simpy.Resource(env, capacity=1)
    sojourns = []
    busy = {"total": 0.0, "since": None}

    def customer(env):
        arrived = env.now
        with server.request() as req:
            yield req
            busy["since"] = env.now
            service = rng.expovariate(MM1_MU)
            yield env.timeout(service)
            busy["total"] += service
            busy["since"] = None
        sojourns.append(env.now - arrived)

    def source(env):
        while True:
            yield env.timeout(rng.expovariate(MM1_LAMBDA))
            env.process(customer(env))

    env.process(source(env))
    t0 = time.perf_counter()
    env.run(until=args.duration)
    wall = time.perf_counter() - t0

    busy_s = busy["total"] + (args.duration - busy["since"] if busy["since"] is not None else 0.0)
    emit("simpy", "mm1", sojourns, busy_s / args.duration, wall, args.duration, args.seed,
         MM1_THEORY_MEAN_MS)


if __name__ == "__main__":
    main()
