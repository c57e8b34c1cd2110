"""The platform on one machine, without Docker: a Kafka broker from the cached Maven Central
jars (kafka, kafka_config, jvm_cds) and a supervisor for the worker and the API processes
(supervisor), as `kontakt up`, `down`, `status` and `demo` run them."""
