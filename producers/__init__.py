"""Publishers of market data and news: sources, validation, and the Kafka publisher."""
