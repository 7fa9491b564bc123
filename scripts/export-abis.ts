import { writeFile } from "node:fs/promises";
import { ABI_MODULE_PATH, renderAbiModule } from "./lib/abi-export.js";

await writeFile(ABI_MODULE_PATH, await renderAbiModule(process.cwd()));
console.log(`wrote ${ABI_MODULE_PATH}`);
