"""Users, roles and scopes (用户、角色与管辖范围): who may see and act on which case.

Pure Python like the other domain rooms: no Flask, no database. The store keeps users, the
services check passwords and tokens, the entrypoints only ask `Principal.can_see`.
"""
from gridroute.auth.model import (ROLE_SCOPES, Principal, UserRole, parse_role, parse_scope,
                                  scope_error)

__all__ = ["Principal", "UserRole", "ROLE_SCOPES", "parse_role", "parse_scope", "scope_error"]
