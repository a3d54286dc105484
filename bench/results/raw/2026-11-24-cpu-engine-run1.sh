#!/bin/bash
# Sequential runs: matmul (1 core pinned) with OpenBLAS peer, then decoder layer, then train steps.
cd /work/wt-bench
export JAVA_HOME=/usr/lib/jvm/temurin-25-jdk-amd64
J="$JAVA_HOME/bin/java --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -Xmx12g -cp bench/target/jlora-bench-all.jar"
P1="taskset -c 0"
echo "== start $(date -u +%T) $(cat /proc/loadavg)"
for s in "512 1536 1536" "512 1536 8960" "256 3584 3584" "256 3584 18944"; do
  reps=7; [ "$s" = "256 3584 18944" ] && reps=5
  echo "-- $(date -u +%T) load $(cut -d' ' -f1-3 /proc/loadavg)"
  $P1 $J -XX:ActiveProcessorCount=1 jlora.bench.MatmulBestOf $s F32,BF16,NF4 $reps 2>&1 | grep -v WARNING
  OPENBLAS_NUM_THREADS=1 $P1 python3 bench/peers/numpy_sgemm.py $s $reps
done
echo "== layer $(date -u +%T) $(cat /proc/loadavg)"
for seq in 512 1024; do
  $P1 $J -XX:ActiveProcessorCount=1 jlora.bench.DecoderLayerBestOf $seq F32,BF16,NF4 2 2>&1 | grep -v WARNING
done
echo "== train $(date -u +%T) $(cat /proc/loadavg)"
$P1 $J -XX:ActiveProcessorCount=1 jlora.bench.TrainStepBestOf 512 F32,BF16,NF4 3 2>&1 | grep -v WARNING
echo "== end $(date -u +%T) $(cat /proc/loadavg)"
