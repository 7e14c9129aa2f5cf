"""The contract as data: schema loading, request validation, the error envelope, echo rules."""
