"""M/M/1 on Ciw (lambda = 800/s, exponential service mean 1 ms, rho = 0.8).

Usage: python mm1_ciw.py DURATION_S [--seed N]. Time unit: seconds. Counts the
customers that left within the simulated duration (no warm-up). `wall_s` is
the time of simulate_until_max_time() only, measured with time.perf_counter.
"""

import time

import ciw

from peerlib import MM1_LAMBDA, MM1_MU, MM1_THEORY_MEAN_MS, emit, parse_args


def main():
    args = parse_args(__doc__.splitlines()[0])
    ciw.seed(args.seed)
    network = ciw.create_network(
        arrival_distributions=[ciw.dists.Exponential(rate=MM1_LAMBDA)],
        service_distributions=[ciw.dists.Exponential(rate=MM1_MU)],
        number_of_servers=[1],
    )
    sim = ciw.Simulation(network)
    t0 = time.perf_counter()
    sim.simulate_until_max_time(args.duration)
    wall = time.perf_counter() - t0

    # Customers that reached the exit node; each has one service record.
    sojourns = [ind.data_records[-1].exit_date - ind.data_records[0].arrival_date
                for ind in sim.nodes[-1].all_individuals]
    node = sim.transitive_nodes[0]
    busy = sum(s.busy_time for s in node.servers)
    total = sum(s.total_time for s in node.servers)
    emit("ciw", "mm1", sojourns, busy / total if total else None, wall, args.duration,
         args.seed, MM1_THEORY_MEAN_MS)


if __name__ == "__main__":
    main()
