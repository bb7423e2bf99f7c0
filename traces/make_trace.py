#!/usr/bin/env python3
"""Writes a small synthetic LLM-inference request trace in the column layout
of Azure's public LLM inference traces (TIMESTAMP, ContextTokens,
GeneratedTokens), for topologies/replay.yaml.

Nothing here comes from the real trace: arrivals are a Poisson process whose
rate swings slowly between about 2 and 8 requests a second with a burst in
the middle; token counts are lognormal around medians of roughly 1000
(context) and 130 (generated). Python 3 standard library only; the output is
the same on every run (fixed seed).

    python3 traces/make_trace.py > traces/llm-conv-synthetic.csv
"""

import datetime
import math
import random
import sys

SECONDS = 300           # five minutes of traffic
BASE_PER_S = 5.0        # mean rate
START = datetime.datetime(2023, 11, 16, 18, 15, 0)


def rate(t):
    """Requests per second at t seconds: a slow swing and a 20 s burst."""
    swing = BASE_PER_S * (1.0 + 0.6 * math.sin(2 * math.pi * t / 200.0))
    return swing * (2.5 if 140 <= t < 160 else 1.0)


def main():
    rng = random.Random(2023)
    peak = BASE_PER_S * 1.6 * 2.5
    out = sys.stdout
    out.write("TIMESTAMP,ContextTokens,GeneratedTokens\n")
    t = 0.0
    while True:
        t += rng.expovariate(peak)
        if t >= SECONDS:
            break
        if rng.random() * peak >= rate(t):
            continue  # thinning: a non-homogeneous Poisson process
        context = max(1, min(16000, int(rng.lognormvariate(math.log(1000), 0.8))))
        generated = max(1, min(2000, int(rng.lognormvariate(math.log(130), 0.9))))
        stamp = START + datetime.timedelta(seconds=t)
        # Seven fractional digits, as in the Azure files.
        out.write(f"{stamp:%Y-%m-%d %H:%M:%S}.{stamp.microsecond:06d}0,{context},{generated}\n")


if __name__ == "__main__":
    main()
