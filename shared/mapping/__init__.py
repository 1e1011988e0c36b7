"""Mapping: profiles as data, value converters, owner matching, record transformation."""

from shared.mapping.owners import OwnerMap, OwnerMatch, SystemUser, match_users
from shared.mapping.profile import ObjectMap, Profile, load_profile
from shared.mapping.transform import FileRef, PendingLookup, TargetRow, transform_record

__all__ = [
    "FileRef",
    "ObjectMap",
    "OwnerMap",
    "OwnerMatch",
    "PendingLookup",
    "Profile",
    "SystemUser",
    "TargetRow",
    "load_profile",
    "match_users",
    "transform_record",
]
