"""What ivr/ and dashboard/ share inside a web request: the per-request services context.

It may import intake and flask; ivr and dashboard import it, never each other's modules
(dashboard imports ivr only to register its blueprint).
"""
