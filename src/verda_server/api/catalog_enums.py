"""Request values the catalog decides: locations, instance types, images, volume types.

The catalog is data (`--catalog` replaces it), so a model can't list these
values itself. It marks the field with its kind instead; the served document
lists the loaded catalog's values there (api/openapi.py), and the services
check the same catalog.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import WithJsonSchema

CATALOG = "x-catalog"
CatalogKind = Literal[
    "location",
    "instance_type",
    "image",
    "volume_type",
    "supported_images",
    "long_term_period",
    "coupon",
    "coupon_types",
    "cluster_type",
    "cluster_image",
    "supported_cluster_images",
]


def of_catalog(kind: CatalogKind) -> dict[str, Any]:
    return {"type": "string", CATALOG: kind}


LocationCode = Annotated[str, WithJsonSchema(of_catalog("location"))]
InstanceTypeName = Annotated[str, WithJsonSchema(of_catalog("instance_type"))]
# An image type, an image id, or the id of an OS volume of the project.
ImageRef = Annotated[str, WithJsonSchema(of_catalog("image"))]
# A long-term period of instances, by code or name.
LongTermPeriodRef = Annotated[str, WithJsonSchema(of_catalog("long_term_period"))]
# A coupon code of the catalog (an expired one is refused all the same).
CouponCode = Annotated[str, WithJsonSchema(of_catalog("coupon"))]
COUPON_TYPES: dict[str, Any] = {CATALOG: "coupon_types"}
# The model-level rule: the image must be one the instance type supports.
SUPPORTED_IMAGES: dict[str, Any] = {CATALOG: "supported_images"}
ClusterTypeName = Annotated[str, WithJsonSchema(of_catalog("cluster_type"))]
# A cluster image's type, id or name.
ClusterImageRef = Annotated[str, WithJsonSchema(of_catalog("cluster_image"))]
# The model-level rule: the image must be one the cluster type supports.
SUPPORTED_CLUSTER_IMAGES: dict[str, Any] = {CATALOG: "supported_cluster_images"}
