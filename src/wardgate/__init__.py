"""wardgate: an agent firewall."""

__version__ = "0.1.0"
