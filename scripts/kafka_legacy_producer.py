#!/usr/bin/env python3
"""Sends recorded OpenWeatherMap box/city responses to Kafka the way the original system's
producer did: kafka-python's KafkaProducer with a JSON value serializer, unkeyed, to topic
`projet`. Meteo's `meteo sink --bus kafka --topic projet --format legacy-owm` reads them.

    python scripts/kafka_legacy_producer.py --brokers 127.0.0.1:9092 payload.json [more.json ...]

Needs kafka-python (pip install -r scripts/requirements-test.txt).
"""
import argparse
import json
import sys

from kafka import KafkaProducer


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--brokers", default="127.0.0.1:9092", help="bootstrap servers (default 127.0.0.1:9092)")
    parser.add_argument("--topic", default="projet", help="topic (default projet, as the original)")
    parser.add_argument("payloads", nargs="+", help="files, each one JSON box/city response")
    args = parser.parse_args()

    # api_version given: kafka-python's version probe gives a busy broker only 2 s.
    producer = KafkaProducer(bootstrap_servers=args.brokers, api_version=(2, 5, 0),
                             value_serializer=lambda v: json.dumps(v).encode("utf-8"))
    for path in args.payloads:
        with open(path, encoding="utf-8-sig") as f:
            payload = json.load(f)
        # The original sent each response whole, without a key, and did not wait per message.
        producer.send(args.topic, value=payload)
    producer.flush(timeout=30)
    producer.close()
    print(f"sent {len(args.payloads)} payloads to topic {args.topic} at {args.brokers}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
