#!/usr/bin/env bash
# Creates the ACS Kafka topics before the services start, and grows a topic whose partition
# count is below the wanted one (Kafka can add partitions, never remove them).
# Runs in the official apache/kafka image (docker-compose init service, Helm hook Job).
#
# ACS_KAFKA_TOPICS   whitespace-separated specs NAME:PARTITIONS[:RETENTION_MS]
# ACS_KAFKA_BOOTSTRAP, ACS_KAFKA_SECURITY_PROTOCOL, ACS_KAFKA_SASL_MECHANISM,
# ACS_KAFKA_SASL_USERNAME, ACS_KAFKA_SASL_PASSWORD, ACS_KAFKA_SSL_CAFILE
#                    the same connection settings the services read (docs/configuration.md)
# ACS_KAFKA_REPLICATION_FACTOR   replicas per partition (default 1; 3 in production)
# ACS_KAFKA_WAIT_S   how long to wait for the brokers to answer (default 120)
set -euo pipefail

KAFKA_BIN="${KAFKA_BIN:-/opt/kafka/bin}"
BOOTSTRAP="${ACS_KAFKA_BOOTSTRAP:-127.0.0.1:9092}"
PROTOCOL="${ACS_KAFKA_SECURITY_PROTOCOL:-PLAINTEXT}"
REPLICATION="${ACS_KAFKA_REPLICATION_FACTOR:-1}"
WAIT_S="${ACS_KAFKA_WAIT_S:-120}"
: "${ACS_KAFKA_TOPICS:?set ACS_KAFKA_TOPICS to NAME:PARTITIONS[:RETENTION_MS] specs}"

CONFIG="$(mktemp)"
trap 'rm -f "$CONFIG"' EXIT
{
  echo "security.protocol=$PROTOCOL"
  case "$PROTOCOL" in
    SASL_*)
      mech="${ACS_KAFKA_SASL_MECHANISM:-PLAIN}"
      echo "sasl.mechanism=$mech"
      if [[ "$mech" == PLAIN ]]; then module=org.apache.kafka.common.security.plain.PlainLoginModule
      else module=org.apache.kafka.common.security.scram.ScramLoginModule; fi
      user="${ACS_KAFKA_SASL_USERNAME//\"/\\\"}"; pass="${ACS_KAFKA_SASL_PASSWORD//\"/\\\"}"
      echo "sasl.jaas.config=$module required username=\"$user\" password=\"$pass\";"
      ;;
  esac
  if [[ "$PROTOCOL" == SSL || "$PROTOCOL" == SASL_SSL ]] && [[ -n "${ACS_KAFKA_SSL_CAFILE:-}" ]]; then
    echo "ssl.truststore.type=PEM"
    echo "ssl.truststore.location=$ACS_KAFKA_SSL_CAFILE"
  fi
} >"$CONFIG"

topics() { "$KAFKA_BIN/kafka-topics.sh" --bootstrap-server "$BOOTSTRAP" --command-config "$CONFIG" "$@"; }

deadline=$((SECONDS + WAIT_S))
until topics --list >/dev/null 2>&1; do
  if ((SECONDS >= deadline)); then echo "kafka at $BOOTSTRAP did not answer within ${WAIT_S}s" >&2; exit 1; fi
  sleep 2
done

for spec in $ACS_KAFKA_TOPICS; do
  IFS=: read -r name partitions retention <<<"$spec"
  extra=()
  [[ -n "${retention:-}" ]] && extra+=(--config "retention.ms=$retention")
  topics --create --if-not-exists --topic "$name" --partitions "$partitions" \
    --replication-factor "$REPLICATION" "${extra[@]}"
  have="$(topics --describe --topic "$name" | grep -c 'Partition: ' || true)"
  if ((have < partitions)); then
    echo "growing $name from $have to $partitions partitions"
    topics --alter --topic "$name" --partitions "$partitions"
  fi
  echo "topic $name: $(topics --describe --topic "$name" | grep -c 'Partition: ') partitions"
done
