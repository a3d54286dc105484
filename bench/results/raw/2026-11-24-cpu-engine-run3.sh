#!/bin/bash
cd /work/wt-bench
export JAVA_HOME=/usr/lib/jvm/temurin-25-jdk-amd64
J="$JAVA_HOME/bin/java --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -Xmx14g -cp bench/target/jlora-bench-all.jar"
P1="taskset -c 0"
echo "== train 1 core $(date -u +%T) $(cat /proc/loadavg)"
$P1 $J -XX:ActiveProcessorCount=1 jlora.bench.TrainStepBestOf 512 F32,BF16,NF4 4 2>&1 | grep -v WARNING
echo "== layer 1 core $(date -u +%T) $(cat /proc/loadavg)"
$P1 $J -XX:ActiveProcessorCount=1 jlora.bench.DecoderLayerBestOf 512 F32,BF16,NF4 3 2>&1 | grep -v WARNING
echo "== train 2 threads $(date -u +%T) $(cat /proc/loadavg)"
$J jlora.bench.TrainStepBestOf 512 BF16,NF4 4 2>&1 | grep -v WARNING
echo "== end $(date -u +%T) $(cat /proc/loadavg)"
