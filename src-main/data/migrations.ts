/**
 * Numbered schema migrations (docs/design.md: Data). Migration N takes a database at user_version N-1 to N.
 * Never edit a migration that has shipped: add a new one. Each is tested from an empty database
 * and from every earlier version (test/unit/store.test.ts).
 */
export interface Migration {
  version: number;
  name: string;
  sql: string;
  /**
   * Runs with foreign keys off (checked before commit): needed to rebuild a table that others
   * reference, because dropping it with foreign keys on would cascade into those tables.
   */
  rebuildsTable?: boolean;
}

export const MIGRATIONS: Migration[] = [
  {
    version: 1,
    name: 'initial schema',
    sql: `
CREATE TABLE collections (
  id          INTEGER PRIMARY KEY,
  name        TEXT NOT NULL,
  root        TEXT NOT NULL UNIQUE,          -- absolute folder; images are served only from here
  kind        TEXT NOT NULL,                 -- cub | flowers | folder | coco | batch
  created_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))
);

CREATE TABLE classes (
  id             INTEGER PRIMARY KEY,
  collection_id  INTEGER NOT NULL REFERENCES collections(id) ON DELETE CASCADE,
  name           TEXT NOT NULL,
  source_id      TEXT,                       -- the dataset's own id (CUB class number, flower label)
  UNIQUE (collection_id, name)
);

CREATE TABLE images (
  id             INTEGER PRIMARY KEY,
  collection_id  INTEGER NOT NULL REFERENCES collections(id) ON DELETE CASCADE,
  rel_path       TEXT NOT NULL,              -- relative to the collection root, '/' separated
  file_name      TEXT NOT NULL,
  content_hash   TEXT NOT NULL,              -- sha256 of the file bytes
  bytes          INTEGER NOT NULL,
  mtime_ms       INTEGER NOT NULL,
  width          INTEGER NOT NULL,
  height         INTEGER NOT NULL,
  taken_at       TEXT,                       -- EXIF DateTimeOriginal, ISO 8601
  gps_lat        REAL,
  gps_lon        REAL,
  source_id      TEXT,                       -- the dataset's own image id
  bbox_x REAL, bbox_y REAL, bbox_w REAL, bbox_h REAL,
  review_status  TEXT NOT NULL DEFAULT 'unreviewed'
                 CHECK (review_status IN ('unreviewed','accepted','fixed','rejected')),
  added_at       TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
  UNIQUE (collection_id, rel_path)
);
CREATE INDEX images_hash ON images(content_hash);

-- Current label of an image; every change is also appended to label_history.
CREATE TABLE labels (
  image_id    INTEGER PRIMARY KEY REFERENCES images(id) ON DELETE CASCADE,
  class_id    INTEGER NOT NULL REFERENCES classes(id) ON DELETE CASCADE,
  provenance  TEXT NOT NULL,                 -- imported | human | model:<run id>
  updated_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))
);
CREATE INDEX labels_class ON labels(class_id);
CREATE TABLE label_history (
  id          INTEGER PRIMARY KEY,
  image_id    INTEGER NOT NULL REFERENCES images(id) ON DELETE CASCADE,
  class_id    INTEGER REFERENCES classes(id) ON DELETE CASCADE,   -- NULL = label removed
  provenance  TEXT NOT NULL,
  at          TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))
);

-- Captions: the current text plus an append-only revision history, so no edit is ever lost.
CREATE TABLE captions (
  id          INTEGER PRIMARY KEY,
  image_id    INTEGER NOT NULL REFERENCES images(id) ON DELETE CASCADE,
  ord         INTEGER NOT NULL,              -- position among the image's captions
  text        TEXT NOT NULL,
  provenance  TEXT NOT NULL,                 -- imported | human | model:<run id>
  accepted    INTEGER NOT NULL DEFAULT 1,
  deleted     INTEGER NOT NULL DEFAULT 0,    -- soft delete: history stays
  created_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
  updated_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
  UNIQUE (image_id, ord)
);
CREATE TABLE caption_revisions (
  id          INTEGER PRIMARY KEY,
  caption_id  INTEGER NOT NULL REFERENCES captions(id) ON DELETE CASCADE,
  text        TEXT NOT NULL,
  provenance  TEXT NOT NULL,
  at          TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))
);
CREATE INDEX caption_revisions_caption ON caption_revisions(caption_id);

CREATE VIRTUAL TABLE captions_fts USING fts5(text, content='captions', content_rowid='id');
CREATE TRIGGER captions_ai AFTER INSERT ON captions BEGIN
  INSERT INTO captions_fts(rowid, text) VALUES (new.id, new.text);
END;
CREATE TRIGGER captions_ad AFTER DELETE ON captions BEGIN
  INSERT INTO captions_fts(captions_fts, rowid, text) VALUES ('delete', old.id, old.text);
END;
CREATE TRIGGER captions_au AFTER UPDATE OF text ON captions BEGIN
  INSERT INTO captions_fts(captions_fts, rowid, text) VALUES ('delete', old.id, old.text);
  INSERT INTO captions_fts(rowid, text) VALUES (new.id, new.text);
END;

-- Undo/redo journal over labels, captions, review status and bulk edits: one group per user action.
CREATE TABLE edits (
  id          INTEGER PRIMARY KEY,
  group_id    INTEGER NOT NULL,
  kind        TEXT NOT NULL,                 -- label | caption | review | mask
  target_id   INTEGER NOT NULL,              -- image id (label, review, mask) or caption id
  before      TEXT,                          -- JSON
  after       TEXT,                          -- JSON
  undone      INTEGER NOT NULL DEFAULT 0,
  at          TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))
);
CREATE INDEX edits_group ON edits(group_id);

-- Splits: scheme 'default' (seeded stratified random) or 'paper' (Table 1 protocol), part names
-- train | val | test for classification, and caption_train | caption_test for the paper's
-- caption split by class.
CREATE TABLE splits (
  scheme    TEXT NOT NULL,
  image_id  INTEGER NOT NULL REFERENCES images(id) ON DELETE CASCADE,
  part      TEXT NOT NULL,
  PRIMARY KEY (scheme, image_id)
);
CREATE INDEX splits_part ON splits(scheme, part);

CREATE TABLE parts (
  id             INTEGER PRIMARY KEY,
  collection_id  INTEGER NOT NULL REFERENCES collections(id) ON DELETE CASCADE,
  source_id      INTEGER NOT NULL,           -- part number in parts.txt
  name           TEXT NOT NULL,
  UNIQUE (collection_id, source_id)
);
CREATE TABLE part_locations (
  image_id  INTEGER NOT NULL REFERENCES images(id) ON DELETE CASCADE,
  part_id   INTEGER NOT NULL REFERENCES parts(id) ON DELETE CASCADE,
  x REAL NOT NULL, y REAL NOT NULL,          -- pixels in the original image
  visible   INTEGER NOT NULL,
  PRIMARY KEY (image_id, part_id)
);

-- Curator-painted masks: where the models should look (docs/design.md: The model, beyond the paper).
CREATE TABLE masks (
  image_id    INTEGER PRIMARY KEY REFERENCES images(id) ON DELETE CASCADE,
  width       INTEGER NOT NULL,
  height      INTEGER NOT NULL,
  png         BLOB NOT NULL,                 -- 8-bit grey PNG, 255 = should matter
  updated_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))
);

CREATE TABLE runs (
  id               TEXT PRIMARY KEY,
  created_at       TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
  collection_id    INTEGER REFERENCES collections(id) ON DELETE SET NULL,
  variant          TEXT NOT NULL CHECK (variant IN ('cnn','lrcn','medi','cam')),
  encoder          TEXT NOT NULL,
  backend          TEXT NOT NULL,
  config           TEXT NOT NULL,            -- JSON
  dataset_version  TEXT NOT NULL,            -- hash of the training set contents
  status           TEXT NOT NULL CHECK (status IN ('queued','running','done','failed','cancelled')),
  parent_run       TEXT REFERENCES runs(id) ON DELETE SET NULL,   -- warm start
  started_at       TEXT,
  finished_at      TEXT,
  timings          TEXT,                     -- JSON
  epochs           TEXT NOT NULL DEFAULT '[]', -- JSON: per-epoch losses and validation metrics
  metrics          TEXT,                     -- JSON: final evaluation (docs/design.md: Metrics)
  checkpoint       TEXT,                     -- file in the workspace checkpoints folder
  warnings         TEXT NOT NULL DEFAULT '[]', -- JSON list (e.g. fallback encoder)
  error            TEXT
);

CREATE TABLE batch_jobs (
  id          INTEGER PRIMARY KEY,
  folder      TEXT NOT NULL,
  run_id      TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  status      TEXT NOT NULL CHECK (status IN ('queued','running','done','failed','cancelled')),
  created_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
  finished_at TEXT
);
CREATE TABLE batch_results (
  job_id      INTEGER NOT NULL REFERENCES batch_jobs(id) ON DELETE CASCADE,
  rel_path    TEXT NOT NULL,
  caption     TEXT,
  top5        TEXT,                          -- JSON [{class, p}]
  review      TEXT NOT NULL DEFAULT 'pending' CHECK (review IN ('pending','accepted','edited','rejected')),
  error       TEXT,
  PRIMARY KEY (job_id, rel_path)
);

CREATE TABLE settings (
  key    TEXT PRIMARY KEY,
  value  TEXT NOT NULL                       -- JSON
);
`,
  },
  {
    version: 2,
    name: 'per-image predictions of a run',
    sql: `
-- What a run says about each image (filled by jobs/predict.ts from the feature cache): the review
-- queue sorts by these, the photo view shows the top-5 as suggestions.
CREATE TABLE predictions (
  run_id        TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  image_id      INTEGER NOT NULL REFERENCES images(id) ON DELETE CASCADE,
  class_id      INTEGER REFERENCES classes(id) ON DELETE SET NULL,  -- predicted class (NULL for lrcn)
  confidence    REAL,                        -- top-1 softmax probability
  top5          TEXT NOT NULL DEFAULT '[]',  -- JSON [{classId, p}]
  caption       TEXT,                        -- greedy caption (NULL for cnn)
  likelihood    REAL,                        -- mean per-token log-prob of that caption
  disagreement  REAL,                        -- 1 − cos(cam_cls(pred), cam_cap(pred caption))
  created_at    TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
  PRIMARY KEY (run_id, image_id)
);
CREATE INDEX predictions_image ON predictions(image_id);
`,
  },
  {
    version: 3,
    name: 'batch-caption review: the curator\'s edited caption',
    sql: `
-- batch_results.caption stays the model's output; an 'edited' review keeps the curator's text here.
ALTER TABLE batch_results ADD COLUMN edited_caption TEXT;
`,
  },
  {
    version: 4,
    name: "runs: status 'interrupted' (the training process died; resumable)",
    rebuildsTable: true,
    sql: `
-- SQLite cannot change a CHECK constraint in place: the table is rebuilt (foreign keys off).
CREATE TABLE runs_v4 (
  id               TEXT PRIMARY KEY,
  created_at       TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
  collection_id    INTEGER REFERENCES collections(id) ON DELETE SET NULL,
  variant          TEXT NOT NULL CHECK (variant IN ('cnn','lrcn','medi','cam')),
  encoder          TEXT NOT NULL,
  backend          TEXT NOT NULL,
  config           TEXT NOT NULL,
  dataset_version  TEXT NOT NULL,
  status           TEXT NOT NULL CHECK (status IN ('queued','running','done','failed','cancelled','interrupted')),
  parent_run       TEXT REFERENCES runs(id) ON DELETE SET NULL,
  started_at       TEXT,
  finished_at      TEXT,
  timings          TEXT,
  epochs           TEXT NOT NULL DEFAULT '[]',
  metrics          TEXT,
  checkpoint       TEXT,
  warnings         TEXT NOT NULL DEFAULT '[]',
  error            TEXT
);
INSERT INTO runs_v4 SELECT * FROM runs;
DROP TABLE runs;
ALTER TABLE runs_v4 RENAME TO runs;
`,
  },
  {
    version: 5,
    name: 'species manager: display names, merges and removed species',
    sql: `
-- classes.name stays the raw id the data came with (imports, run class lists and warm starts match
-- on it); the curator's own name for a species is display_name (NULL: derived from the raw id).
ALTER TABLE classes ADD COLUMN display_name TEXT;
-- A species merged into another keeps its row (label history, predictions and runs refer to it)
-- but is hidden; undoing the merge clears this.
ALTER TABLE classes ADD COLUMN merged_into INTEGER REFERENCES classes(id);
-- 1: created in the app and that creation undone (hidden, never deleted).
ALTER TABLE classes ADD COLUMN removed INTEGER NOT NULL DEFAULT 0;
-- The undo journal gains edits of kind 'species' (target_id: a class id, states as JSON).
`,
  },
  {
    version: 6,
    name: "images: file_status (the photo's file changed or went missing on disk since import)",
    sql: `
-- 'ok': the file holds the bytes that were imported (content_hash); 'changed': other bytes are there
-- now (replaced or damaged); 'missing': no file. Set by the image routes and by a re-import.
ALTER TABLE images ADD COLUMN file_status TEXT NOT NULL DEFAULT 'ok'
  CHECK (file_status IN ('ok', 'changed', 'missing'));
CREATE INDEX images_file_status ON images(file_status) WHERE file_status != 'ok';
`,
  },
  {
    version: 7,
    name: 'batch captioning: folder entries that could not be listed',
    sql: `
-- Entries of a captioned folder that could not be read (a symbolic link loop, an unreadable
-- sub-folder, a broken link), as the latest run of the job found them: the review lists them.
CREATE TABLE batch_unreadable (
  job_id    INTEGER NOT NULL REFERENCES batch_jobs(id) ON DELETE CASCADE,
  rel_path  TEXT NOT NULL,
  reason    TEXT NOT NULL,
  PRIMARY KEY (job_id, rel_path)
);
`,
  },
];
