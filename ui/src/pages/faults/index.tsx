export default function FaultsPage() { return <h1>Faults</h1>; }
