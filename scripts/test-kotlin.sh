#!/usr/bin/env bash
# The Kotlin scenario suite (bindings-uniffi/tests/kotlin): compiles the generated Kotlin (scripts/gen-bindings.sh
# must have run) with the suite in one kotlinc-jvm call, then runs it on the JVM over the real libseqsync against
# the real server-example. Installs what it needs, cached: kotlinc-jvm and kotlinx-coroutines-core-jvm.jar from the
# npm package `kotlin-compiler` (into ~/.cache/seqsync), a JDK, JNA and Gson from Debian (apt-get, as root).
# Without a toolchain it reports the suite skipped, and under CI=true it fails.
# Environment: SEQSYNC_SERVER (default target/$SEQSYNC_PROFILE/server-example, release when unset), SEQSYNC_LIB_DIR (the directory of
# libseqsync.so; default target/debug/deps, where the workspace's test build leaves it).
set -euo pipefail
cd "$(dirname "$0")/.."

kotlin_version=2.4.20
target="${CARGO_TARGET_DIR:-target}"
cache="${XDG_CACHE_HOME:-$HOME/.cache}/seqsync/kotlin-compiler-$kotlin_version"
kotlin_lib="$cache/node_modules/kotlin-compiler/lib"
kotlinc="$cache/node_modules/kotlin-compiler/bin/kotlinc-jvm"
java_jars=(/usr/share/java/jna.jar /usr/share/java/gson.jar)

missing() {
  local what=()
  command -v java >/dev/null && command -v javac >/dev/null || what+=(jdk)
  for jar in "${java_jars[@]}"; do [ -f "$jar" ] || what+=("$jar"); done
  [ -x "$kotlinc" ] || what+=(kotlinc-jvm)
  echo "${what[*]}"
}

if [ -n "$(missing)" ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    dpkg -s default-jdk-headless libjna-java libgoogle-gson-java >/dev/null 2>&1 || {
      apt-get update -qq && apt-get install -y -qq default-jdk-headless libjna-java libgoogle-gson-java >/dev/null
    }
  fi
  if [ ! -x "$kotlinc" ] && command -v npm >/dev/null; then
    npm install --silent --no-audit --no-fund --prefix "$cache" "kotlin-compiler@$kotlin_version"
  fi
fi
if [ -n "$(missing)" ]; then
  echo "kotlin: the Kotlin suite needs $(missing) (see scripts/test-kotlin.sh)" >&2
  [ "${CI:-}" = true ] && exit 1
  echo "kotlin: 0 passed, 0 failed, 1 skipped"
  exit 0
fi

generated="$target/uniffi/kotlin/uniffi/seqsync/seqsync.kt"
[ -s "$generated" ] || { echo "kotlin: no $generated: run scripts/gen-bindings.sh first" >&2; exit 1; }
classpath="$kotlin_lib/kotlinx-coroutines-core-jvm.jar:$kotlin_lib/kotlin-test.jar:$(IFS=:; echo "${java_jars[*]}")"
out="$target/kotlin"
mkdir -p "$out"
# One compilation of the generated file and the suite (kotlinc's start-up is most of its time); the jar is reused
# while its sources are unchanged.
sources=("$generated" bindings-uniffi/tests/kotlin/*.kt)
stamp="$(cat "${sources[@]}" | sha256sum | cut -c1-16)"
jar="$out/scenarios-$stamp.jar"
if [ ! -f "$jar" ]; then
  rm -f "$out"/scenarios-*.jar
  "$kotlinc" -nowarn -cp "$classpath" -d "$jar.tmp.jar" "${sources[@]}"
  mv "$jar.tmp.jar" "$jar"
fi

java -Djna.library.path="${SEQSYNC_LIB_DIR:-$target/debug/deps}" \
  -cp "$jar:$kotlin_lib/kotlin-stdlib.jar:$classpath" seqsync.tests.MainKt \
  bindings-tests/scenarios.json "${SEQSYNC_SERVER:-$target/${SEQSYNC_PROFILE:-release}/server-example}"
