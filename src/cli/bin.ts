#!/usr/bin/env node
import './require-node.js';
import { main } from './main.js';

process.exitCode = await main(process.argv.slice(2));
