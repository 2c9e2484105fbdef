"""The GraphQL surface (`/graphql`): the REST API's operations, typed for GraphQL clients."""

from alloy_scripting.api.graphql.router import mount_graphql

__all__ = ["mount_graphql"]
