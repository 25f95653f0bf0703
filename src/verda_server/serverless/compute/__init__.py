"""Serverless compute resources, BEYOND.md §5.1: the catalog's offer and its availability."""
