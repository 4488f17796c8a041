"""enode-scheduler: plan EV charging into the cheapest hours through the Enode API."""

__version__ = "0.1.0"
