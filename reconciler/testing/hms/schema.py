"""Our DDL for the Hive 2.3 transaction and lock tables (DataNucleus does not create them).

Derived from what the metastore's TxnHandler reads and writes for `lock`, `check_lock`,
`unlock`, `heartbeat` and the clean-up after dropping a table or database (column names
are its contract); MySQL/MariaDB dialect, latin1.
"""

from __future__ import annotations

TXN_DDL = """
CREATE TABLE IF NOT EXISTS TXNS (
  TXN_ID BIGINT NOT NULL PRIMARY KEY,
  TXN_STATE CHAR(1) NOT NULL,
  TXN_STARTED BIGINT NOT NULL,
  TXN_LAST_HEARTBEAT BIGINT NOT NULL,
  TXN_USER VARCHAR(128) NOT NULL,
  TXN_HOST VARCHAR(128) NOT NULL,
  TXN_AGENT_INFO VARCHAR(128),
  TXN_META_INFO VARCHAR(128),
  TXN_HEARTBEAT_COUNT INT
) ENGINE=InnoDB;
CREATE TABLE IF NOT EXISTS TXN_COMPONENTS (
  TC_TXNID BIGINT NOT NULL,
  TC_DATABASE VARCHAR(128) NOT NULL,
  TC_TABLE VARCHAR(128),
  TC_PARTITION VARCHAR(767),
  TC_OPERATION_TYPE CHAR(1) NOT NULL,
  KEY TC_TXNID_INDEX (TC_TXNID)
) ENGINE=InnoDB;
CREATE TABLE IF NOT EXISTS COMPLETED_TXN_COMPONENTS (
  CTC_TXNID BIGINT NOT NULL,
  CTC_DATABASE VARCHAR(128) NOT NULL,
  CTC_TABLE VARCHAR(256),
  CTC_PARTITION VARCHAR(767)
) ENGINE=InnoDB;
CREATE TABLE IF NOT EXISTS NEXT_TXN_ID (NTXN_NEXT BIGINT NOT NULL) ENGINE=InnoDB;
INSERT INTO NEXT_TXN_ID SELECT 1 FROM DUAL WHERE NOT EXISTS (SELECT 1 FROM NEXT_TXN_ID);
CREATE TABLE IF NOT EXISTS HIVE_LOCKS (
  HL_LOCK_EXT_ID BIGINT NOT NULL,
  HL_LOCK_INT_ID BIGINT NOT NULL,
  HL_TXNID BIGINT,
  HL_DB VARCHAR(128) NOT NULL,
  HL_TABLE VARCHAR(128),
  HL_PARTITION VARCHAR(767),
  HL_LOCK_STATE CHAR(1) NOT NULL,
  HL_LOCK_TYPE CHAR(1) NOT NULL,
  HL_LAST_HEARTBEAT BIGINT NOT NULL,
  HL_ACQUIRED_AT BIGINT,
  HL_USER VARCHAR(128) NOT NULL,
  HL_HOST VARCHAR(128) NOT NULL,
  HL_HEARTBEAT_COUNT INT,
  HL_AGENT_INFO VARCHAR(128),
  HL_BLOCKEDBY_EXT_ID BIGINT,
  HL_BLOCKEDBY_INT_ID BIGINT,
  PRIMARY KEY (HL_LOCK_EXT_ID, HL_LOCK_INT_ID),
  KEY HIVE_LOCK_TXNID_INDEX (HL_TXNID)
) ENGINE=InnoDB;
CREATE TABLE IF NOT EXISTS NEXT_LOCK_ID (NL_NEXT BIGINT NOT NULL) ENGINE=InnoDB;
INSERT INTO NEXT_LOCK_ID SELECT 1 FROM DUAL WHERE NOT EXISTS (SELECT 1 FROM NEXT_LOCK_ID);
CREATE TABLE IF NOT EXISTS COMPACTION_QUEUE (
  CQ_ID BIGINT NOT NULL PRIMARY KEY,
  CQ_DATABASE VARCHAR(128) NOT NULL,
  CQ_TABLE VARCHAR(128) NOT NULL,
  CQ_PARTITION VARCHAR(767),
  CQ_STATE CHAR(1) NOT NULL,
  CQ_TYPE CHAR(1) NOT NULL,
  CQ_TBLPROPERTIES VARCHAR(2048),
  CQ_WORKER_ID VARCHAR(128),
  CQ_START BIGINT,
  CQ_RUN_AS VARCHAR(128),
  CQ_HIGHEST_TXN_ID BIGINT,
  CQ_META_INFO VARBINARY(2048),
  CQ_HADOOP_JOB_ID VARCHAR(32)
) ENGINE=InnoDB;
CREATE TABLE IF NOT EXISTS COMPLETED_COMPACTIONS (
  CC_ID BIGINT NOT NULL PRIMARY KEY,
  CC_DATABASE VARCHAR(128) NOT NULL,
  CC_TABLE VARCHAR(128) NOT NULL,
  CC_PARTITION VARCHAR(767),
  CC_STATE CHAR(1) NOT NULL,
  CC_TYPE CHAR(1) NOT NULL,
  CC_TBLPROPERTIES VARCHAR(2048),
  CC_WORKER_ID VARCHAR(128),
  CC_START BIGINT,
  CC_END BIGINT,
  CC_RUN_AS VARCHAR(128),
  CC_HIGHEST_TXN_ID BIGINT,
  CC_META_INFO VARBINARY(2048),
  CC_HADOOP_JOB_ID VARCHAR(32)
) ENGINE=InnoDB;
CREATE TABLE IF NOT EXISTS NEXT_COMPACTION_QUEUE_ID (NCQ_NEXT BIGINT NOT NULL) ENGINE=InnoDB;
INSERT INTO NEXT_COMPACTION_QUEUE_ID SELECT 1 FROM DUAL
  WHERE NOT EXISTS (SELECT 1 FROM NEXT_COMPACTION_QUEUE_ID);
CREATE TABLE IF NOT EXISTS AUX_TABLE (
  MT_KEY1 VARCHAR(128) NOT NULL,
  MT_KEY2 BIGINT NOT NULL,
  MT_COMMENT VARCHAR(255),
  PRIMARY KEY (MT_KEY1, MT_KEY2)
) ENGINE=InnoDB;
CREATE TABLE IF NOT EXISTS WRITE_SET (
  WS_DATABASE VARCHAR(128) NOT NULL,
  WS_TABLE VARCHAR(128) NOT NULL,
  WS_PARTITION VARCHAR(767),
  WS_TXNID BIGINT NOT NULL,
  WS_COMMIT_ID BIGINT NOT NULL,
  WS_OPERATION_TYPE CHAR(1) NOT NULL
) ENGINE=InnoDB;
"""


NOTIFICATION_LISTENER = "org.apache.hive.hcatalog.listener.DbNotificationListener"


def hive_site(
    jdbc_port: int,
    database: str,
    user: str,
    password: str,
    warehouse: str,
    *,
    notifications: bool = False,
) -> str:
    """hive-site.xml for a metastore on MariaDB at 127.0.0.1:`jdbc_port`; `notifications`
    writes every change to the notification log in the same transaction as the change."""
    url = (
        f"jdbc:mysql://127.0.0.1:{jdbc_port}/{database}"
        "?sessionVariables=sql_mode=ANSI_QUOTES&amp;useMysqlMetadata=true"
    )
    props = {
        "javax.jdo.option.ConnectionURL": url,
        "javax.jdo.option.ConnectionDriverName": "org.mariadb.jdbc.Driver",
        "javax.jdo.option.ConnectionUserName": user,
        "javax.jdo.option.ConnectionPassword": password,
        "datanucleus.schema.autoCreateAll": "true",
        "hive.metastore.schema.verification": "false",
        "datanucleus.rdbms.datastoreAdapterClassName": (
            "org.datanucleus.store.rdbms.adapter.MySQLAdapter"
        ),
        "hive.async.log.enabled": "false",
        # pyspark ships HikariCP but not BoneCP (Hive 2.3's default pool, also for locks).
        "datanucleus.connectionPoolingType": "HikariCP",
        "hive.metastore.warehouse.dir": warehouse,
        # Iceberg owns the schema; HMS's column list only mirrors it, so evolving a column
        # (e.g. adding one inside a struct) must not be refused as "incompatible".
        "hive.metastore.disallow.incompatible.col.type.changes": "false",
    }
    if notifications:
        props["hive.metastore.transactional.event.listeners"] = NOTIFICATION_LISTENER
    body = "".join(
        f"  <property><name>{k}</name><value>{v}</value></property>\n" for k, v in props.items()
    )
    return f'<?xml version="1.0"?>\n<configuration>\n{body}</configuration>\n'
