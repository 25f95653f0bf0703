"""The read model: rendered answers of a project's reads, replayed until the
project's generation moves on or its next due instant comes."""
