"""``conda integrity``: one module per verb (``configure_parser``, ``execute``), the
renderers of reports for people, and the ``conda doctor`` health check."""
