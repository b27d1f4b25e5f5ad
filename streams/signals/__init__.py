"""The signal service: indicators and strategies over market data and news."""
