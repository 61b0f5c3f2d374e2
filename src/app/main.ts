import 'reflect-metadata';
import { runService } from './service.js';

/** The deployed Tasks API: DATABASE_URL is required (`npm start` runs dev.js, which can embed a server). */
await runService();
