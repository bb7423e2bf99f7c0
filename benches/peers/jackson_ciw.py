"""Open feed-forward Jackson network on Ciw (the model of
topologies/jackson.yaml).

External Poisson arrivals lambda = 100/s to `gateway` (1 server, exp service
mean 4 ms); then `catalog` with probability 0.6 (exp mean 10 ms) or `orders`
with 0.4 (exp mean 5 ms); after `orders`, `db` with probability 0.5 (exp mean
30 ms), else leave; after `catalog` or `db`, leave. All stations have one
server and a FIFO queue. Time unit: seconds.

Theory (each station an M/M/1, Jackson's theorem), mean end-to-end sojourn:
  1/150 s + 0.6 * 25 ms + 0.4 * (6.25 ms + 0.5 * 75 ms) = 39.17 ms

Usage: python jackson_ciw.py DURATION_S [--seed N]. `mean_ms` is the mean
end-to-end sojourn of customers that left within the simulated duration (no
warm-up); `utilization` is per station. `wall_s` is
simulate_until_max_time() only.
"""

import time

import ciw

from peerlib import (JACKSON_LAMBDA, JACKSON_MEAN_SERVICE_S, JACKSON_THEORY_MEAN_MS,
                     P_CATALOG, P_DB_AFTER_ORDERS, emit, parse_args)


def main():
    args = parse_args(__doc__.splitlines()[0])
    names = list(JACKSON_MEAN_SERVICE_S)  # gateway, catalog, orders, db
    ciw.seed(args.seed)
    network = ciw.create_network(
        arrival_distributions=[ciw.dists.Exponential(rate=JACKSON_LAMBDA), None, None, None],
        service_distributions=[ciw.dists.Exponential(rate=1.0 / JACKSON_MEAN_SERVICE_S[n])
                               for n in names],
        number_of_servers=[1, 1, 1, 1],
        # Row: from; column: to; what a row leaves out is the probability of leaving.
        routing=[
            [0.0, P_CATALOG, 1.0 - P_CATALOG, 0.0],
            [0.0, 0.0, 0.0, 0.0],
            [0.0, 0.0, 0.0, P_DB_AFTER_ORDERS],
            [0.0, 0.0, 0.0, 0.0],
        ],
    )
    sim = ciw.Simulation(network)
    t0 = time.perf_counter()
    sim.simulate_until_max_time(args.duration)
    wall = time.perf_counter() - t0

    # Customers that reached the exit node: first arrival to last exit.
    sojourns = [ind.data_records[-1].exit_date - ind.data_records[0].arrival_date
                for ind in sim.nodes[-1].all_individuals]
    util = {}
    for name, node in zip(names, sim.transitive_nodes):
        busy = sum(s.busy_time for s in node.servers)
        total = sum(s.total_time for s in node.servers)
        util[name] = busy / total if total else None
    emit("ciw", "jackson", sojourns, util, wall, args.duration, args.seed,
         JACKSON_THEORY_MEAN_MS)


if __name__ == "__main__":
    main()
