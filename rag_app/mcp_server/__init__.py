"""The knowledge base as an MCP server: tools (``tools.py``), on the service over streamable
HTTP (``rag_app/api/mcp.py``) and on stdio for desktop assistants (``stdio.py``)."""
