#!/bin/bash
# Interleaved A/B of engine builds on volume perf7, N rounds. L-$J-$v.fio are
# copies of rr.fio / sq.fio whose ioengine= points at each build (or the peer).
N=${1:-5}; J=${2:-rr}
for i in $(seq "$N"); do for v in base before after final custom ga; do VOL=perf7 ./cpu.sh "L-$J-$v.fio"; done; done
