"""The GraphQL queries the fetcher sends, one operation per file (package data)."""
