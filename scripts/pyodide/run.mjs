// Runs a Python script in Pyodide's CPython (WebAssembly) with host directories mounted.
//
//   node run.mjs SCRIPT.py DIR... [-- ARG...]
//
// Each DIR is mounted read-write at /host/<index>; the script's arguments are those paths, then
// "--" and the ARGs. It runs offline (Pyodide loads no packages) and its exit status is the process's.
import { readFileSync } from "node:fs";
import path from "node:path";
import { loadPyodide } from "pyodide";

const [script, ...rest] = process.argv.slice(2);
const split = rest.indexOf("--");
const directories = split < 0 ? rest : rest.slice(0, split);
const extraArgs = split < 0 ? [] : rest.slice(split + 1);
const pyodide = await loadPyodide({ stdout: (line) => console.log(line), stderr: (line) => console.error(line) });
const mounted = directories.map((directory, index) => {
  const mountPoint = `/host/${index}`;
  pyodide.FS.mkdirTree(mountPoint);
  pyodide.FS.mount(pyodide.FS.filesystems.NODEFS, { root: path.resolve(directory) }, mountPoint);
  return mountPoint;
});
pyodide.globals.set("script_argv", pyodide.toPy([script, ...mounted, "--", ...extraArgs]));
pyodide.globals.set("script_source", readFileSync(script, "utf8"));
const status = pyodide.runPython(`
import sys
sys.argv = list(script_argv)
namespace = {"__name__": "__main__", "__file__": sys.argv[0]}
try:
    exec(compile(script_source, sys.argv[0], "exec"), namespace)
    status = 0
except SystemExit as exit:
    status = exit.code if isinstance(exit.code, int) else (0 if exit.code is None else 1)
status
`);
process.exit(status);
