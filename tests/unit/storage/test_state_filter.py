"""The filter language: the tree `parse_filter` builds and the MongoDB query built from it."""

from __future__ import annotations

from alloy_scripting.model.state_filter import (
    Condition,
    SortField,
    StateFilter,
    parse_filter,
    parse_sort,
)
from alloy_scripting.storage.mongo.state import mongo_filter


def test_the_tree_of_a_filter() -> None:
    tree = parse_filter(
        {"tier": "gold", "visits": {"$gte": 3, "$lt": 10}, "region": {"$in": ["eu", None]},
         "closed": {"$exists": False}}
    )  # fmt: skip
    assert tree == StateFilter(
        (
            Condition("tier", "eq", "gold"),
            Condition("visits", "gte", 3),
            Condition("visits", "lt", 10),
            Condition("region", "in", ("eu", None)),
            Condition("closed", "exists", False),
        )
    )
    assert parse_filter(None) == parse_filter({}) == StateFilter()
    assert parse_sort(["-visits", "tier"]) == (SortField("visits", True), SortField("tier"))


def test_the_query_is_built_under_doc_with_explicit_operators() -> None:
    query = mongo_filter(parse_filter({"tier": "gold", "n": {"$gt": 1}, "r": {"$in": [1, 2]}}))
    assert query == {
        "$and": [
            {"doc.tier": {"$eq": "gold"}},
            {"doc.n": {"$gt": 1}},
            {"doc.r": {"$in": [1, 2]}},
        ]
    }
    assert mongo_filter(StateFilter()) == {}
    # A text that looks like an operator stays a value.
    assert mongo_filter(parse_filter({"a": "$where"})) == {"$and": [{"doc.a": {"$eq": "$where"}}]}
