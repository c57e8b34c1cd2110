#!/usr/bin/env bash
# Puts the Apache Kafka broker jars (resolved from deploy/kafka/pom.xml through Maven Central)
# into a cache OUTSIDE the repository: ${KONTAKT_CACHE_DIR:-~/.cache/kontakt}/kafka-<version>/libs.
# services/local/kafka.py runs the broker from there (java -cp 'libs/*').
#
# Idempotent and fast: a stamp file records the sha256 of the pom the jars came from, so a
# second run with an unchanged pom returns at once without starting Maven. The jars are copied
# into a temporary directory first and renamed into place, so an interrupted run never leaves a
# half-filled libs directory behind.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
pom="$here/pom.xml"
version=$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$pom")
if [ -z "$version" ]; then
  echo "fetch.sh: cannot read <kafka.version> from $pom" >&2
  exit 1
fi

cache=${KONTAKT_CACHE_DIR:-$HOME/.cache/kontakt}
home="$cache/kafka-$version"
libs="$home/libs"
stamp="$home/.pom-sha256"
want=$(sha256sum "$pom" | cut -c1-64)

if [ -d "$libs" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
  exit 0
fi

if ! command -v java >/dev/null 2>&1; then
  echo "fetch.sh: 'java' not found: install a JDK 17+ (Debian: apt-get install default-jdk-headless)" >&2
  exit 1
fi
if ! command -v mvn >/dev/null 2>&1; then
  echo "fetch.sh: 'mvn' not found: install Maven (Debian: apt-get install maven)" >&2
  exit 1
fi

echo "fetch.sh: resolving Kafka $version jars into $libs"
mkdir -p "$home"
tmp=$(mktemp -d "$home/.libs.XXXXXX")
chmod 755 "$tmp"
trap 'rm -rf "$tmp"' EXIT
mvn -q -B -f "$pom" dependency:copy-dependencies \
  -DincludeScope=runtime -DoutputDirectory="$tmp" >"$home/.mvn.log" 2>&1 || {
  echo "fetch.sh: Maven could not resolve the Kafka jars; see $home/.mvn.log" >&2
  tail -n 20 "$home/.mvn.log" >&2
  exit 1
}
if ! ls "$tmp"/kafka_2.13-"$version".jar >/dev/null 2>&1; then
  echo "fetch.sh: kafka_2.13-$version.jar missing after Maven ran; see $home/.mvn.log" >&2
  exit 1
fi
rm -rf "$libs"
mv "$tmp" "$libs"
trap - EXIT
echo "$want" >"$stamp"
echo "fetch.sh: $(ls "$libs" | wc -l) jars in $libs"
