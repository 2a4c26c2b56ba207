-- The database of the four database routes (/db, /queries, /fortunes, /updates), as
-- TechEmpower's benchmarks define it: the one copy, loaded by the harness (harness::postgres)
-- into a database `hello_world` owned by `benchmarkdbuser`, as that user, so that the tables
-- are that user's too. Unquoted names fold to lower case: the tables are `world` and
-- `fortune`, the column `randomnumber`; the JSON answers spell it `randomNumber`.
BEGIN;

CREATE TABLE World (
  id integer NOT NULL PRIMARY KEY,
  randomNumber integer NOT NULL
);

-- 10,000 rows, ids 1..10000, each with a random number in 1..10000.
INSERT INTO World (id, randomNumber)
SELECT id, 1 + floor(random() * 10000)::integer FROM generate_series(1, 10000) AS id;

CREATE TABLE Fortune (
  id integer NOT NULL PRIMARY KEY,
  message varchar(2048) NOT NULL
);

-- TechEmpower's twelve fortunes: a script that must reach the page escaped, an apostrophe,
-- quotes, a dash beyond ASCII and a row in Japanese.
INSERT INTO Fortune (id, message) VALUES
  (1, 'fortune: No such file or directory'),
  (2, 'A computer scientist is someone who fixes things that aren''t broken.'),
  (3, 'After enough decimal places, nobody gives a damn.'),
  (4, 'A bad random number generator: 1, 1, 1, 1, 1, 4.33e+67, 1, 1, 1'),
  (5, 'A computer program does what you tell it to do, not what you want it to do.'),
  (6, 'Emacs is a nice operating system, but I prefer UNIX. — Tom Christaensen'),
  (7, 'Any program that runs right is obsolete.'),
  (8, 'A list is only as strong as its weakest link. — Donald Knuth'),
  (9, 'Feature: A bug with seniority.'),
  (10, 'Computers make very fast, very accurate mistakes.'),
  (11, '<script>alert("This should not be displayed in a browser alert box.");</script>'),
  (12, 'フレームワークのベンチマーク');

COMMIT;
