#!/bin/bash
cd /work/wt-bench
export JAVA_HOME=/usr/lib/jvm/temurin-25-jdk-amd64
J="$JAVA_HOME/bin/java --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -Xmx14g -cp bench/target/jlora-bench-all.jar"
P1="taskset -c 0"
echo "== layer $(date -u +%T) $(cat /proc/loadavg)"
$P1 $J -XX:ActiveProcessorCount=1 jlora.bench.DecoderLayerBestOf 512 F32,BF16,NF4 4 2>&1 | grep -v WARNING
echo "-- $(date -u +%T) $(cat /proc/loadavg)"
$P1 $J -XX:ActiveProcessorCount=1 jlora.bench.DecoderLayerBestOf 1024 F32,BF16,NF4 2 2>&1 | grep -v WARNING
echo "== train $(date -u +%T) $(cat /proc/loadavg)"
$P1 $J -XX:ActiveProcessorCount=1 jlora.bench.TrainStepBestOf 512 F32,BF16,NF4 4 2>&1 | grep -v WARNING
echo "== matmul $(date -u +%T) $(cat /proc/loadavg)"
$P1 $J -XX:ActiveProcessorCount=1 jlora.bench.MatmulBestOf 256 3584 18944 F32,BF16,NF4 7 2>&1 | grep -v WARNING
OPENBLAS_NUM_THREADS=1 $P1 python3 bench/peers/numpy_sgemm.py 256 3584 18944 7
echo "== end $(date -u +%T) $(cat /proc/loadavg)"
