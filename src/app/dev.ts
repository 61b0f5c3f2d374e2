import 'reflect-metadata';
import { runService } from './service.js';

/** `npm start`: the Tasks API on DATABASE_URL, or, in development only, on an embedded PostgreSQL. */
await runService({ embeddedWithoutUrl: true });
