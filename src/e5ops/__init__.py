"""e5ops: take a service to production with Ansible, and prove it with signed evidence."""

__version__ = "0.1.0"
