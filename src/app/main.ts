import 'reflect-metadata';
import { runService } from './service.js';

/** `npm start`: the Tasks API on DATABASE_URL, or on the embedded PostgreSQL in development. */
await runService();
