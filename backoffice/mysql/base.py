"""Django's MySQL/MariaDB backend, opening each transaction with one START TRANSACTION.

Django enters an atomic block by turning autocommit off and leaves it by turning it back on: two
extra round trips per transaction with mysqlclient. START TRANSACTION leaves the session in
autocommit, so the COMMIT (or ROLLBACK) ends the transaction and turning autocommit "back on"
sends nothing.
"""

from django.db.backends.mysql import base


class DatabaseWrapper(base.DatabaseWrapper):
    def _start_transaction_under_autocommit(self):
        # The driver's own cursor, like the autocommit switch it replaces: not a query of the app's.
        # Its errors still become Django's (OperationalError, ...), as the switch's do.
        with self.wrap_database_errors, self.connection.cursor() as cursor:
            cursor.execute("START TRANSACTION")
