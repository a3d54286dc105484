#!/usr/bin/env bash
# Builds jlora and packs what the GPU machine needs to run every GPU test and benchmark
# without Maven or a JDK: a jlinked JRE (the modules jdeps finds, plus those the engine loads
# by name), the shaded jar (with libjlora_cuda.so inside), the bench and test classes, and the
# JUnit console launcher.
#
#   tools/bundle-device.sh          -> build/device-bundle.tar.xz (+ build/device-bundle/)
#
# Then, through the device tool: carry build/device-bundle.tar.xz and run tools/gpu-run.sh
# (tools/README.md). Needs nvcc here: a bundle without the native library tests nothing.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
. "$root/tools/find-jdk.sh"
jlora_find_jdk || exit 1
export JAVA_HOME="$JLORA_JAVA_HOME"
cd "$root"

# junit-bom's platform version: 5.x.y pairs with 1.x.y.
junit=$(sed -n 's:.*<junit.version>5\.\(.*\)</junit.version>.*:\1:p' pom.xml)
console="junit-platform-console-standalone-1.$junit.jar"
out="$root/build/device-bundle"
archive="$root/build/device-bundle.tar.xz"

echo "== build (tests compiled, not run)"
./mvnw -B -ntp -q -DskipTests package
lib=java/target/classes/jlora/native/linux-x86_64/libjlora_cuda.so
if [[ ! -f "$lib" ]]; then
    echo "bundle-device: the build made no libjlora_cuda.so (no nvcc here?); a GPU bundle needs it" >&2
    exit 1
fi

rm -rf "$out" "$archive"
mkdir -p "$out/lib" "$out/native"
echo "== test dependencies"
./mvnw -B -ntp -q -N org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy \
    -Dartifact="org.junit.platform:junit-platform-console-standalone:1.$junit" -DoutputDirectory="$out/lib"
# Test-only jars other than JUnit (the console launcher carries JUnit itself): all test-scope
# jars minus the runtime ones, which the shaded jar holds already.
deps="$root/build/device-deps"
rm -rf "$deps"
for scope in test runtime; do
    ./mvnw -B -ntp -q -pl java org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy-dependencies \
        -DincludeScope=$scope -DoutputDirectory="$deps/$scope" \
        -DexcludeGroupIds=org.junit,org.junit.jupiter,org.junit.platform,org.opentest4j,org.apiguardian
done
for j in "$deps"/test/*.jar; do
    [[ -e "$j" && ! -e "$deps/runtime/$(basename "$j")" ]] && cp "$j" "$out/lib/"
done
rm -rf "$deps"

cp java/target/jlora-all.jar "$out/lib/"
cp -r java/target/test-classes "$out/test-classes"
cp -r bench/target/classes "$out/bench-classes"
cp "$lib" "$out/native/"
cp -r bench/peers "$out/peers" && rm -rf "$out/peers/__pycache__"
cp build/native/ptxas.log "$out/native/" 2>/dev/null || true

# Jars stored, not deflated: xz over the whole archive then compresses the classes (the bundle
# shrinks by about 6 MiB against deflated jars, which xz cannot squeeze further).
for j in "$out"/lib/*.jar; do
    x="$out/lib/.x" && rm -rf "$x" && mkdir -p "$x"
    (cd "$x" && "$JAVA_HOME/bin/jar" -xf "$j")
    rm "$j" && "$JAVA_HOME/bin/jar" -c -0 -M -f "$j" -C "$x" . && rm -rf "$x"
done

echo "== jlink"
cp_all=$(printf '%s:' "$out"/lib/*.jar)
modules=$("$JAVA_HOME/bin/jdeps" --print-module-deps --ignore-missing-deps --multi-release 25 \
    -cp "$cp_all" "$out"/lib/*.jar "$out/test-classes" "$out/bench-classes" 2>/dev/null | tail -1)
[[ "$modules" =~ ^[a-z.,]+$ ]] || { echo "bundle-device: jdeps gave no module list: $modules" >&2; exit 1; }
# Loaded by name or as a service, which jdeps cannot see: the Vector API (--add-modules), Unsafe
# users, the zip file system (resources read out of the jar: the bundled sample data).
modules="$modules,jdk.incubator.vector,jdk.unsupported,jdk.zipfs"
# Uncompressed modules inside (faster start); xz over the whole archive compresses better.
"$JAVA_HOME/bin/jlink" --add-modules "$modules" --strip-debug --no-man-pages --no-header-files \
    --compress=zip-0 --output "$out/jre" 2> >(grep -v 'incubator modules' >&2)
find "$out/jre" -name '*.so' -exec strip --strip-unneeded {} +

{
    echo "commit: $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet 2>/dev/null || echo ' (dirty)')"
    echo "built: $(date -u +%Y-%m-%dT%H:%M:%SZ) on $(hostname)"
    echo "jdk: $("$JAVA_HOME/bin/java" -version 2>&1 | head -1)"
    echo "modules: $modules"
    echo "nvcc: $(cat build/native/nvcc-version 2>/dev/null || echo unknown)"
} > "$out/BUNDLE"

echo "== archive"
tar -C "$root/build" -cf - device-bundle | xz -9 -T2 > "$archive.tmp"
mv "$archive.tmp" "$archive"
size=$(stat -c %s "$archive")
printf 'bundle-device: %s  %.1f MiB (unpacked %s)\n' "${archive#"$root"/}" "$(echo "$size / 1048576" | bc -l)" \
    "$(du -sh "$out" | cut -f1)"
if (( size > 40 * 1048576 )); then
    echo "bundle-device: WARNING: over 40 MiB" >&2
fi
