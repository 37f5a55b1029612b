"""Containment: make the agent unable to reach the network except through wardgate.

`wardgate sandbox` (sandbox.py, child.py, host.py) runs a command in its own network and mount
namespace whose only interface is loopback; the DNS stub (dnspolicy.py pure decisions,
dnsserver.py transport) answers its name lookups through policy; rules.py prints nftables or
iptables rules that hold an agent user to wardgate's port on an ordinary host.
"""
